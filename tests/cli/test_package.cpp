// The Debian package as a user gets it: cpack builds the .deb from this build folder,
// dpkg-deb unpacks it into a scratch root, and the installed igpg and igpg-studio run from
// there against the system's libraries (LD_LIBRARY_PATH untouched). Skipped where cpack or
// dpkg-deb are missing, and where the build links a LibTorch that no Debian package
// provides (a pip wheel's, for CUDA): the package could neither depend on it nor run.
#include "igpg_test.h"
#include "test_util.h"

#include "common/runtime.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

// The program's path along $PATH, or empty.
std::string findProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Whether the installed igpg resolves libtorch from the system's library folders.
bool linksDebianTorch() {
  const std::string ldd = findProgram("ldd");
  if (ldd.empty()) return true;  // cannot tell: let the package tests decide
  const auto linked = igpg_test::runProcess({ldd, igpg_test::binary("igpg")});
  std::istringstream lines(linked.out);
  std::string line;
  while (std::getline(lines, line))
    if (contains(line, "libtorch")) return contains(line, "=> /usr/lib/") || contains(line, "=> /lib/");
  return false;
}

// Builds without the GUI (IGPG_BUILD_GUI=OFF) package the command line alone.
bool withStudio() { return fs::exists(igpg_test::binary("igpg-studio")); }

}  // namespace

class PackageTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void cleanupTestCase();
  void installsTheProgramsAndTheDesktopEntry();
  void dependsOnTheSystemLibraries();
  void installedCommandLineRuns();
  void installedStudioRuns();

 private:
  igpg_test::ScratchDir* dir_ = nullptr;
  std::string dpkgDeb_;
  std::string deb_;
  std::string root_;
};

void PackageTest::initTestCase() {
  const std::string cpack = findProgram("cpack");
  dpkgDeb_ = findProgram("dpkg-deb");
  if (cpack.empty() || dpkgDeb_.empty()) QSKIP("cpack or dpkg-deb is not installed");
  if (!linksDebianTorch()) QSKIP("igpg links a LibTorch outside the system's library folders (not Debian's)");
  const std::string build = fs::path(igpg_test::kBinDir).parent_path().string();
  dir_ = new igpg_test::ScratchDir("package");
  const auto packed = igpg_test::runProcess(
      {cpack, "-G", "DEB", "--config", build + "/CPackConfig.cmake", "-B", dir_->path()}, {}, 300);
  QVERIFY2(packed.exitCode == 0, (packed.out + packed.err).c_str());
  for (const auto& entry : fs::directory_iterator(dir_->path()))
    if (entry.path().extension() == ".deb") deb_ = entry.path().string();
  QVERIFY2(!deb_.empty(), ("no .deb in " + dir_->path() + ": " + packed.out).c_str());
  QVERIFY2(contains(fs::path(deb_).filename().string(), "igpg-studio_" + igpg::igpgVersion()), deb_.c_str());
  root_ = dir_->file("root");
  const auto unpacked = igpg_test::runProcess({dpkgDeb_, "-x", deb_, root_});
  QVERIFY2(unpacked.exitCode == 0, unpacked.err.c_str());
}

void PackageTest::cleanupTestCase() { delete dir_; }

void PackageTest::installsTheProgramsAndTheDesktopEntry() {
  QVERIFY(fs::is_regular_file(root_ + "/usr/bin/igpg"));
  if (!withStudio()) return;
  for (const char* file : {"usr/bin/igpg-studio", "usr/share/applications/igpg-studio.desktop",
                           "usr/share/icons/hicolor/scalable/apps/igpg-studio.svg"})
    QVERIFY2(fs::is_regular_file(root_ + "/" + file), file);
  const std::string desktop = igpg_test::readBytes(root_ + "/usr/share/applications/igpg-studio.desktop");
  QVERIFY(contains(desktop, "\nExec=igpg-studio"));
  QVERIFY(contains(desktop, "\nIcon=igpg-studio"));
}

void PackageTest::dependsOnTheSystemLibraries() {
  const auto fields = igpg_test::runProcess({dpkgDeb_, "-f", deb_, "Package", "Depends"});
  QVERIFY2(fields.exitCode == 0, fields.err.c_str());
  // What the binaries link, as Debian packages: LibTorch, SQLite, zlib, and for the studio
  // Qt Widgets and QCustomPlot.
  std::vector<std::string> packages = {"libtorch", "libsqlite3-0", "zlib1g", "libstdc++6"};
  if (withStudio()) packages.insert(packages.end(), {"libqt6widgets6", "libqcustomplot"});
  for (const auto& package : packages)
    QVERIFY2(contains(fields.out, package), (package + " missing from: " + fields.out).c_str());
}

void PackageTest::installedCommandLineRuns() {
  const auto run = igpg_test::runProcess({root_ + "/usr/bin/igpg", "--version"});
  QVERIFY2(run.exitCode == 0, run.err.c_str());
  QVERIFY2(contains(run.out, igpg::igpgVersion()), run.out.c_str());
}

void PackageTest::installedStudioRuns() {
  if (!withStudio()) QSKIP("built without the studio");
  // Without OMP_WAIT_POLICY the studio re-executes itself once with it set: the arguments
  // must survive that, and it must not loop.
  const auto run = igpg_test::runProcess({root_ + "/usr/bin/igpg-studio", "--version"},
                                         {"QT_QPA_PLATFORM=offscreen", "OMP_WAIT_POLICY"});
  QVERIFY2(run.exitCode == 0, run.err.c_str());
  QVERIFY2(contains(run.out, igpg::igpgVersion()), run.out.c_str());
}

IGPG_TEST_MAIN(PackageTest)
#include "test_package.moc"
