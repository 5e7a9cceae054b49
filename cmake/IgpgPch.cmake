# Precompiled headers. Parsing <torch/torch.h> costs ~20 s per translation unit on the
# 2-core CI machines; one precompiled copy per flag set brings a full build down to
# minutes. GCC only accepts a PCH built with the same code model (-fpie vs -fPIC) and the
# same predefined macros, so there is one per flag set: `igpg_pch` for the plain targets
# (core, CLI, core tests without Qt), `igpg_pch_qt` and `igpg_pch_gui` below for those that
# link Qt. The PCH holders are executables so that they compile as position-independent
# executables, like their users.
set(IGPG_PCH_HEADER ${CMAKE_SOURCE_DIR}/core/pch.h)
set(_igpg_pch_src ${CMAKE_BINARY_DIR}/igpg_pch_main.cpp)
file(WRITE ${_igpg_pch_src} "// only builds the precompiled header\nint main() { return 0; }\n")

add_executable(igpg_pch EXCLUDE_FROM_ALL ${_igpg_pch_src})
target_link_libraries(igpg_pch PRIVATE ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json)
target_precompile_headers(igpg_pch PRIVATE ${IGPG_PCH_HEADER})

# GCC also rejects a PCH when a macro defined while building it is missing in the user, so
# the Qt holders link only what every user of them links: Qt Core for the core and CLI
# tests (which add Qt Test), Qt Widgets for the widgets, the studio and their tests.
foreach(flavour IN ITEMS qt gui)
  if(flavour STREQUAL "qt" AND TARGET Qt6::Core)
    set(_igpg_qt_libs Qt6::Core)
  elseif(flavour STREQUAL "gui" AND TARGET Qt6::Widgets)
    set(_igpg_qt_libs Qt6::Widgets)
  else()
    continue()
  endif()
  add_executable(igpg_pch_${flavour} EXCLUDE_FROM_ALL ${_igpg_pch_src})
  target_link_libraries(igpg_pch_${flavour} PRIVATE ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json ${_igpg_qt_libs})
  target_precompile_headers(igpg_pch_${flavour} PRIVATE ${IGPG_PCH_HEADER})
endforeach()

# igpg_use_pch(target [QT|GUI]): reuse the matching precompiled header.
function(igpg_use_pch target)
  if("GUI" IN_LIST ARGN AND TARGET igpg_pch_gui)
    target_precompile_headers(${target} REUSE_FROM igpg_pch_gui)
  elseif("QT" IN_LIST ARGN AND TARGET igpg_pch_qt)
    target_precompile_headers(${target} REUSE_FROM igpg_pch_qt)
  else()
    target_precompile_headers(${target} REUSE_FROM igpg_pch)
  endif()
endfunction()
