# Precompiled headers. Parsing <torch/torch.h> costs ~20 s per translation unit on the
# 2-core CI machines; one precompiled copy per flag set brings a full build down to
# minutes. GCC only accepts a PCH built with the same code model (-fpie vs -fPIC) and the
# same predefined macros, so there are two: `igpg_pch` for the plain targets (core, CLI,
# core tests without Qt), `igpg_pch_qt` for executables that link Qt. The PCH holders
# are executables so that they compile as position-independent executables, like their users.
set(IGPG_PCH_HEADER ${CMAKE_SOURCE_DIR}/core/pch.h)
set(_igpg_pch_src ${CMAKE_BINARY_DIR}/igpg_pch_main.cpp)
file(WRITE ${_igpg_pch_src} "// only builds the precompiled header\nint main() { return 0; }\n")

add_executable(igpg_pch EXCLUDE_FROM_ALL ${_igpg_pch_src})
target_link_libraries(igpg_pch PRIVATE ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json)
target_precompile_headers(igpg_pch PRIVATE ${IGPG_PCH_HEADER})

if(TARGET Qt6::Core)
  add_executable(igpg_pch_qt EXCLUDE_FROM_ALL ${_igpg_pch_src})
  target_link_libraries(igpg_pch_qt PRIVATE ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json Qt6::Core)
  if(TARGET Qt6::Widgets)
    target_link_libraries(igpg_pch_qt PRIVATE Qt6::Widgets)
  endif()
  target_precompile_headers(igpg_pch_qt PRIVATE ${IGPG_PCH_HEADER})
endif()

# igpg_use_pch(target [QT]): reuse the matching precompiled header.
function(igpg_use_pch target)
  if("QT" IN_LIST ARGN AND TARGET igpg_pch_qt)
    target_precompile_headers(${target} REUSE_FROM igpg_pch_qt)
  else()
    target_precompile_headers(${target} REUSE_FROM igpg_pch)
  endif()
endfunction()
