// `igpg zoo ...` driven as a user would: the import/list/show/export/rm cycle, usage
// errors, and every kind of bad input or interruption, after each of which the catalogue
// must pass its integrity check with no row or blob half-made.
#include "igpg_test.h"
#include "test_util.h"

#include "catalogue/catalogue.h"
#include "catalogue/import.h"
#include "common/files.h"
#include "formats/safetensors.h"

#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <thread>

namespace {

using igpg::Catalogue;
using igpg_test::ProcessResult;

const std::string kFixture = igpg_test::fixture("tinycnn_fmnist.safetensors");

std::vector<std::string> command(const std::string& catalogue, const std::vector<std::string>& args,
                                 const std::vector<std::string>& prefix = {}) {
  std::vector<std::string> argv = prefix;
  argv.push_back(igpg_test::binary("igpg"));
  argv.insert(argv.end(), {"--catalogue", catalogue, "--quiet"});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

ProcessResult runIgpg(const std::string& catalogue, const std::vector<std::string>& args,
                   const std::vector<std::string>& env = {}, const std::vector<std::string>& prefix = {}) {
  return igpg_test::runProcess(command(catalogue, args, prefix), env);
}

// A label, not a SPEC: these files are catalogue payloads, not networks to check.
std::vector<std::string> importArgs(const std::vector<std::string>& files) {
  std::vector<std::string> args = {"zoo", "import", "--arch", "toy-net", "--dataset", "fashion-mnist"};
  args.insert(args.end(), files.begin(), files.end());
  return args;
}

// A catalogue holding the fixture, made in-process: setting the scene need not cost an
// igpg start.
void seedCatalogue(const std::string& catalogue) {
  igpg::ImportOptions o;
  o.architecture.name = "tinycnn";
  o.dataset.name = "fashion-mnist";
  igpg::importWeightFiles(*Catalogue::open(catalogue), {kFixture}, o);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Status 1 and exactly one "igpg: error: ..." line that names `what`.
std::string checkError(const ProcessResult& r, const std::string& what) {
  if (r.exitCode != 1) return "exit status " + std::to_string(r.exitCode) + ", stderr: " + r.err;
  if (r.err.rfind("igpg: error: ", 0) != 0 || std::count(r.err.begin(), r.err.end(), '\n') != 1)
    return "not one error line: " + r.err;
  if (!contains(r.err, what)) return "error does not name " + what + ": " + r.err;
  return {};
}

// `n` files of distinct weights, 64 KiB each, so that an import of many takes long
// enough to be interrupted part-way.
std::vector<std::string> writeWeightFiles(const igpg_test::ScratchDir& dir, int n, int first = 0) {
  std::vector<std::string> files;
  for (int i = first; i < first + n; ++i) {
    igpg::StateDict w;
    w.add("fc.weight", torch::full({128, 128}, float(i)));
    files.push_back(dir.file("w" + std::to_string(i) + ".safetensors"));
    const auto bytes = igpg::encodeSafetensors(w);
    igpg_test::writeBytes(files.back(), std::string(bytes.begin(), bytes.end()));
  }
  return files;
}

// What must hold after anything that happened to a catalogue: the database is sound,
// every row's blob is there and hashes to its name, and so does every blob file.
std::string checkCatalogue(const std::string& path, int64_t expectedModels) {
  auto c = Catalogue::open(path);
  const auto report = c->integrityCheck(true);
  if (!report.ok()) return "integrity: " + report.problems.front();
  if (c->countModels() != expectedModels)
    return std::to_string(c->countModels()) + " models, expected " + std::to_string(expectedModels);
  const igpg::BlobStore store(c->blobDirectory());
  for (const auto& f : store.files())
    if (!f.sha256.empty() && !store.verify(f.sha256).empty()) return "half-written blob " + f.path;
  return {};
}

int64_t blobFiles(const std::string& catalogue) {
  int64_t n = 0;
  for (const auto& f : igpg::BlobStore(igpg::parentDirectory(catalogue) + "/blobs").files()) n += !f.sha256.empty();
  return n;
}

int64_t temporaryFiles(const std::string& catalogue) {
  int64_t n = 0;
  for (const auto& f : igpg::BlobStore(igpg::parentDirectory(catalogue) + "/blobs").files()) n += f.sha256.empty();
  return n;
}

// Runs the command as an unprivileged user: as root, permissions are not enforced, so
// the tests drop to `nobody` with setpriv. Empty prefix when not root; nullopt when root
// cannot drop privileges here.
std::optional<std::vector<std::string>> unprivileged() {
  if (::geteuid() != 0) return std::vector<std::string>{};
  if (::access("/usr/bin/setpriv", X_OK) != 0) return std::nullopt;
  return std::vector<std::string>{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
}

// Seeds the catalogue with one model, starts importing 300 more and sends `sig` once
// the import has written ten of their blobs.
ProcessResult interruptImport(const igpg_test::ScratchDir& dir, const std::string& catalogue, int sig) {
  seedCatalogue(catalogue);
  igpg_test::ChildProcess p(command(catalogue, importArgs(writeWeightFiles(dir, 300))));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (p.running() && blobFiles(catalogue) < 11 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (!p.running()) throw std::runtime_error("the import ended before it could be interrupted");
  p.signal(sig);
  return p.wait();
}

}  // namespace

class ZooCliTest : public QObject {
  Q_OBJECT
 private slots:
  void importListShowExportRemove();
  void usageErrorsExitTwo();
  void missingAndUnreadableFiles();
  void truncatedFileImportsNothing();
  void weightsThatDoNotFitTheArchitectureImportNothing();
  void readOnlyCatalogue();
  void lockedCatalogueFailsAfterBusyTimeout();
  void killedImportLeavesNothingHalfMade();
  void interruptedImportCancelsCleanly();
  void concurrentImportsLoseNothing();
};

void ZooCliTest::importListShowExportRemove() {
  igpg_test::ScratchDir dir;
  const std::string cat = dir.file("zoo/catalogue.db");
  ProcessResult r = runIgpg(cat, {"--json", "zoo", "import", "--arch", "tinycnn", "--dataset", "fashion-mnist",
                                  "--epoch", "3", "--seed", "7", "--source", "paper release", kFixture, kFixture});
  QVERIFY2(r.exitCode == 0, r.err.c_str());
  auto imported = nlohmann::json::parse(r.out);
  QCOMPARE(int(imported.size()), 2);
  QCOMPARE(imported[0]["params"].get<int64_t>(), int64_t(2464));
  QCOMPARE(imported[1]["same_weights_as"][0].get<int64_t>(), imported[0]["id"].get<int64_t>());
  QCOMPARE(blobFiles(cat), int64_t(1));

  r = runIgpg(cat, {"--json", "zoo", "list", "--arch", "tinycnn", "--dataset", "fashion-mnist"});
  QVERIFY2(r.exitCode == 0, r.err.c_str());
  auto list = nlohmann::json::parse(r.out);
  QCOMPARE(int(list.size()), 2);
  QCOMPARE(list[0]["epoch"].get<int64_t>(), int64_t(3));
  QCOMPARE(list[0]["seed"].get<int64_t>(), int64_t(7));
  QCOMPARE(list[0]["source"].get<std::string>(), std::string("paper release"));
  QVERIFY(list[0]["top1"].is_null());
  r = runIgpg(cat, {"zoo", "list", "--min-acc", "0.5", "--limit", "1"});  // accuracy not measured yet: no match
  QVERIFY2(r.exitCode == 0 && contains(r.out, "architecture") && !contains(r.out, "tinycnn"), r.out.c_str());

  r = runIgpg(cat, {"zoo", "show", "1"});
  QVERIFY2(r.exitCode == 0, r.err.c_str());
  QVERIFY2(contains(r.out, "conv1.weight") && contains(r.out, "[8,1,5,5]") && contains(r.out, "fashion-mnist"),
           r.out.c_str());
  r = runIgpg(cat, {"--json", "zoo", "show", "1"});
  QVERIFY2(r.exitCode == 0, r.err.c_str());
  const auto shown = nlohmann::json::parse(r.out);
  int64_t numel = 0;
  for (const auto& layer : shown["layers"]) numel += layer["numel"].get<int64_t>();
  QCOMPARE(numel, int64_t(2464));
  QCOMPARE(shown["model"]["architecture"].get<std::string>(), std::string("tinycnn"));

  const std::string out = dir.file("exported.safetensors");
  r = runIgpg(cat, {"zoo", "export", "2", "--out", out});
  QVERIFY2(r.exitCode == 0, r.err.c_str());
  const igpg::StateDict original = igpg::loadSafetensors(kFixture), exported = igpg::loadSafetensors(out);
  QCOMPARE(exported.size(), original.size());
  for (const auto& e : original.entries()) QVERIFY(torch::equal(exported.at(e.name), e.tensor));
  QVERIFY(exported.metadata == original.metadata);  // the file's own metadata comes back
  const std::string before = igpg_test::readBytes(out);
  r = runIgpg(cat, {"zoo", "export", "1", "--out", out});
  QVERIFY2(checkError(r, out).empty() && contains(r.err, "--force"), r.err.c_str());
  QCOMPARE(igpg_test::readBytes(out), before);

  r = runIgpg(cat, {"zoo", "rm", "1", "5"});  // all or nothing: 5 does not exist
  QVERIFY2(checkError(r, "model 5").empty(), r.err.c_str());
  QVERIFY2(checkCatalogue(cat, 2).empty(), checkCatalogue(cat, 2).c_str());
  r = runIgpg(cat, {"zoo", "rm", "1", "2"});
  QVERIFY2(r.exitCode == 0, r.err.c_str());
  QCOMPARE(blobFiles(cat), int64_t(0));
  r = runIgpg(cat, {"--json", "zoo", "check", "--verify-blobs"});
  QVERIFY2(r.exitCode == 0, r.err.c_str());
  QVERIFY(nlohmann::json::parse(r.out)["ok"].get<bool>());
}

void ZooCliTest::usageErrorsExitTwo() {
  igpg_test::ScratchDir dir;
  const std::string cat = dir.file("catalogue.db");
  const std::vector<std::vector<std::string>> cases = {
      {"zoo", "import", kFixture, "--dataset", "digits"},  // no --arch
      {"zoo", "import", "--arch", "a", "--dataset", "d"},  // no file
      {"zoo", "show", "abc"},
      {"zoo", "list", "--min-acc", "85"},
      {"zoo", "list", "--sort", "bogus"},
  };
  for (const auto& args : cases) {
    const ProcessResult r = runIgpg(cat, args);
    std::string line;
    for (const auto& a : args) line += a + " ";
    QVERIFY2(r.exitCode == 2 && r.err.rfind("igpg: error: ", 0) == 0, (line + "-> " + r.err).c_str());
  }
  QVERIFY(!igpg::fileExists(cat));  // usage errors touch nothing
}

void ZooCliTest::missingAndUnreadableFiles() {
  igpg_test::ScratchDir dir;
  const std::string cat = dir.file("zoo/catalogue.db");
  seedCatalogue(cat);
  const std::string missing = dir.file("missing.safetensors");
  ProcessResult r = runIgpg(cat, importArgs({kFixture, missing}));
  QVERIFY2(checkError(r, missing).empty(), checkError(r, missing).c_str());
  r = runIgpg(cat, importArgs({dir.path()}));  // a folder given as a file
  QVERIFY2(checkError(r, dir.path()).empty(), checkError(r, dir.path()).c_str());
  QVERIFY2(checkCatalogue(cat, 1).empty(), checkCatalogue(cat, 1).c_str());

  const auto as = unprivileged();
  if (!as) QSKIP("running as root without setpriv: cannot make a file unreadable");
  // A catalogue the unprivileged user may write, and a file it may not read.
  igpg_test::ScratchDir other;
  const std::string open = other.file("open/catalogue.db");
  igpg::ensureDirectory(igpg::parentDirectory(open));
  ::chmod(igpg::parentDirectory(open).c_str(), 0777);
  const std::string secret = writeWeightFiles(other, 1)[0];
  ::chmod(secret.c_str(), 0);
  r = runIgpg(open, importArgs({secret}), {}, *as);
  QVERIFY2(checkError(r, secret).empty(), checkError(r, secret).c_str());
  QVERIFY2(checkCatalogue(open, 0).empty(), checkCatalogue(open, 0).c_str());
}

void ZooCliTest::truncatedFileImportsNothing() {
  igpg_test::ScratchDir dir;
  const std::string cat = dir.file("zoo/catalogue.db");
  seedCatalogue(cat);
  const auto good = writeWeightFiles(dir, 3);
  const std::string truncated = dir.file("truncated.safetensors");
  const std::string bytes = igpg_test::readBytes(kFixture);
  igpg_test::writeBytes(truncated, bytes.substr(0, bytes.size() - 100));
  const ProcessResult r = runIgpg(cat, importArgs({good[0], good[1], truncated, good[2]}));
  QVERIFY2(checkError(r, truncated).empty(), checkError(r, truncated).c_str());
  QVERIFY2(contains(r.err, "truncated") || contains(r.err, "past the end"), r.err.c_str());
  QVERIFY2(checkCatalogue(cat, 1).empty(), checkCatalogue(cat, 1).c_str());
  QCOMPARE(blobFiles(cat), int64_t(1));  // the good files' blobs were taken back
}

void ZooCliTest::weightsThatDoNotFitTheArchitectureImportNothing() {
  igpg_test::ScratchDir dir;
  const std::string cat = dir.file("zoo/catalogue.db");
  seedCatalogue(cat);
  igpg::StateDict w = igpg::loadSafetensors(kFixture);
  w.set("fc2.weight", torch::zeros({10, 7}));  // fc1 has 20 outputs
  const std::string misshapen = dir.file("misshapen.safetensors");
  const auto bytes = igpg::encodeSafetensors(w);
  igpg_test::writeBytes(misshapen, std::string(bytes.begin(), bytes.end()));
  const ProcessResult r = runIgpg(cat, {"zoo", "import", "--arch", "tinycnn", "--dataset", "fashion-mnist", kFixture,
                                        misshapen});
  QVERIFY2(checkError(r, misshapen).empty(), checkError(r, misshapen).c_str());
  QVERIFY2(contains(r.err, "fc2.weight"), r.err.c_str());
  QVERIFY2(checkCatalogue(cat, 1).empty(), checkCatalogue(cat, 1).c_str());
  // A SPEC that does not fit the dataset is refused before any file is read.
  const ProcessResult wrong = runIgpg(cat, {"zoo", "import", "--arch", R"({"family": "tinycnn", "num_classes": 3})",
                                            "--dataset", "fashion-mnist", kFixture});
  QVERIFY2(wrong.exitCode != 0 && contains(wrong.err, "num_classes"), wrong.err.c_str());
  QVERIFY2(checkCatalogue(cat, 1).empty(), checkCatalogue(cat, 1).c_str());
}

void ZooCliTest::readOnlyCatalogue() {
  igpg_test::ScratchDir dir;
  // A folder that cannot hold a catalogue at all: a file stands where the folder should be.
  igpg_test::writeBytes(dir.file("plain-file"), "x");
  const std::string impossible = dir.file("plain-file/catalogue.db");
  ProcessResult r = runIgpg(impossible, importArgs({kFixture}));
  QVERIFY2(checkError(r, impossible).empty() && contains(r.err, "cannot create the catalogue"), r.err.c_str());

  const std::string cat = dir.file("zoo/catalogue.db");
  seedCatalogue(cat);
  const auto as = unprivileged();
  if (!as) QSKIP("running as root without setpriv: permissions are not enforced for root");
  const std::string file = writeWeightFiles(dir, 1)[0];
  ::chmod(igpg::parentDirectory(cat).c_str(), 0555);
  r = runIgpg(cat, importArgs({file}), {}, *as);
  ::chmod(igpg::parentDirectory(cat).c_str(), 0755);
  QVERIFY2(checkError(r, cat).empty() && contains(r.err, "read-only"), r.err.c_str());
  QVERIFY2(checkCatalogue(cat, 1).empty(), checkCatalogue(cat, 1).c_str());
  QCOMPARE(blobFiles(cat), int64_t(1));
  // Reading needs no write access, not even for SQLite's WAL index beside the file.
  ::chmod(igpg::parentDirectory(cat).c_str(), 0555);
  r = runIgpg(cat, {"--json", "zoo", "list"}, {}, *as);
  ::chmod(igpg::parentDirectory(cat).c_str(), 0755);
  QVERIFY2(r.exitCode == 0, r.err.c_str());
  QCOMPARE(int(nlohmann::json::parse(r.out).size()), 1);
}

void ZooCliTest::lockedCatalogueFailsAfterBusyTimeout() {
  igpg_test::ScratchDir dir;
  const std::string cat = dir.file("zoo/catalogue.db");
  seedCatalogue(cat);
  const auto file = writeWeightFiles(dir, 1);
  sqlite3* db = nullptr;
  QCOMPARE(sqlite3_open(cat.c_str(), &db), SQLITE_OK);
  QCOMPARE(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto start = std::chrono::steady_clock::now();
  ProcessResult r = runIgpg(cat, importArgs(file), {"IGPG_BUSY_TIMEOUT_MS=300"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  QVERIFY2(checkError(r, cat).empty() && contains(r.err, "locked by another writer"), r.err.c_str());
  QVERIFY2(seconds >= 0.3, std::to_string(seconds).c_str());
  QVERIFY2(checkCatalogue(cat, 1).empty(), checkCatalogue(cat, 1).c_str());
  // The blob written before the lock was refused is an orphan, not a row; gc removes it.
  QCOMPARE(blobFiles(cat), int64_t(2));
  r = runIgpg(cat, {"--json", "zoo", "gc", "--min-age", "0"});
  QVERIFY2(r.exitCode == 0, r.err.c_str());
  QCOMPARE(nlohmann::json::parse(r.out)["files_removed"].get<int64_t>(), int64_t(1));
  QCOMPARE(runIgpg(cat, importArgs(file)).exitCode, 0);
  QVERIFY2(checkCatalogue(cat, 2).empty(), checkCatalogue(cat, 2).c_str());
}

void ZooCliTest::killedImportLeavesNothingHalfMade() {
  igpg_test::ScratchDir dir;
  const std::string cat = dir.file("zoo/catalogue.db");
  const ProcessResult r = interruptImport(dir, cat, SIGKILL);
  QCOMPARE(r.signal, int(SIGKILL));
  // Killed while writing blobs: no rows, and every blob file whole.
  QVERIFY2(checkCatalogue(cat, 1).empty(), checkCatalogue(cat, 1).c_str());
  QVERIFY(blobFiles(cat) > 1);
  auto c = Catalogue::open(cat);
  c->cleanupOrphanBlobs(std::chrono::seconds(0));
  QCOMPARE(blobFiles(cat), int64_t(1));
  QCOMPARE(temporaryFiles(cat), int64_t(0));
  QVERIFY2(checkCatalogue(cat, 1).empty(), checkCatalogue(cat, 1).c_str());
}

void ZooCliTest::interruptedImportCancelsCleanly() {
  igpg_test::ScratchDir dir;
  const std::string cat = dir.file("zoo/catalogue.db");
  const ProcessResult r = interruptImport(dir, cat, SIGINT);
  QVERIFY2(r.exitCode == 130, r.err.c_str());
  QVERIFY2(contains(r.err, "igpg: error: import: cancelled; nothing was imported"), r.err.c_str());
  QVERIFY2(checkCatalogue(cat, 1).empty(), checkCatalogue(cat, 1).c_str());
  QCOMPARE(blobFiles(cat), int64_t(1));  // the cancelled import took its blobs back
  QCOMPARE(temporaryFiles(cat), int64_t(0));
}

void ZooCliTest::concurrentImportsLoseNothing() {
  igpg_test::ScratchDir dir;
  const std::string cat = dir.file("zoo/catalogue.db");  // both processes create it
  const auto first = writeWeightFiles(dir, 40, 0), second = writeWeightFiles(dir, 40, 1000);
  std::vector<std::unique_ptr<igpg_test::ChildProcess>> processes;
  for (const auto* files : {&first, &second})
    processes.push_back(std::make_unique<igpg_test::ChildProcess>(command(cat, importArgs(*files))));
  for (auto& p : processes) {
    const ProcessResult r = p->wait();
    QVERIFY2(r.exitCode == 0, r.err.c_str());
  }
  QVERIFY2(checkCatalogue(cat, 80).empty(), checkCatalogue(cat, 80).c_str());
  QCOMPARE(blobFiles(cat), int64_t(80));
  auto c = Catalogue::open(cat, Catalogue::ReadOnly);
  QCOMPARE(c->schemaVersion(), Catalogue::latestSchemaVersion());
  QCOMPARE(int(c->listArchitectures().size()), 1);  // created once, not once per process
  sqlite3* db = nullptr;
  sqlite3_open(cat.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr);
  sqlite3_step(s);
  QCOMPARE(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))), std::string("wal"));
  sqlite3_finalize(s);
  sqlite3_close(db);
}

IGPG_TEST_MAIN(ZooCliTest)
#include "test_cli_zoo.moc"
