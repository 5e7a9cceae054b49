// igpg inspect, run as a user would: the two fixtures list the same tensors with the
// same numbers, and bad files end with status 1 and one error line naming the file.
#include "igpg_test.h"
#include "test_util.h"

#include "formats/pytorch_file.h"
#include "formats/safetensors.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>

namespace {

igpg_test::ProcessResult runIgpg(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {igpg_test::binary("igpg")};
  argv.insert(argv.end(), args.begin(), args.end());
  return igpg_test::runProcess(argv);
}

nlohmann::json inspectJson(const std::string& path) {
  const auto run = runIgpg({"inspect", "--json", path});
  if (run.exitCode != 0) throw std::runtime_error("igpg inspect failed: " + run.err);
  return nlohmann::json::parse(run.out);
}

std::map<std::string, nlohmann::json> byName(const nlohmann::json& tensors) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& t : tensors) out[t["name"].get<std::string>()] = t;
  return out;
}

bool closeTo(double a, double b) { return std::fabs(a - b) <= 1e-12 * std::max(1.0, std::fabs(b)); }

}  // namespace

class CliInspectTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void fixturesListTheSameTensors();
  void statisticsMatchTheTensors();
  void printsATable();
  void badFilesFailWithOneLine();
  void usageErrors();

 private:
  nlohmann::json pt_, safetensors_;  // igpg inspect --json of the two fixtures
};

void CliInspectTest::initTestCase() {
  pt_ = inspectJson(igpg_test::fixture("tinycnn_fmnist.pt"));
  safetensors_ = inspectJson(igpg_test::fixture("tinycnn_fmnist.safetensors"));
}

void CliInspectTest::fixturesListTheSameTensors() {
  const auto& pt = pt_;
  const auto& st = safetensors_;
  const auto reference = nlohmann::json::parse(igpg_test::readBytes(igpg_test::fixture("reference.json")));
  QCOMPARE(pt["format"].get<std::string>(), std::string("pytorch"));
  QCOMPARE(st["format"].get<std::string>(), std::string("safetensors"));
  QCOMPARE(pt["tensor_count"].get<size_t>(), size_t(10));
  QCOMPARE(pt["numel"].get<int64_t>(), reference["parameters"].get<int64_t>());
  QCOMPARE(st["numel"].get<int64_t>(), reference["parameters"].get<int64_t>());
  QCOMPARE(st["metadata"]["arch"].get<std::string>(), std::string("tinycnn"));
  for (size_t i = 0; i < pt["tensors"].size(); ++i)
    QCOMPARE(pt["tensors"][i]["name"].get<std::string>(), reference["state_dict_keys"][i].get<std::string>());
  const auto a = byName(pt["tensors"]), b = byName(st["tensors"]);
  QCOMPARE(a.size(), size_t(10));
  QCOMPARE(b.size(), size_t(10));
  for (const auto& [name, tensor] : a) {
    QVERIFY2(b.count(name), name.c_str());
    QVERIFY2(tensor == b.at(name), (tensor.dump() + " vs " + b.at(name).dump()).c_str());
  }
  QCOMPARE(a.at("conv2.weight")["shape"].dump(), std::string("[6,8,5,5]"));
  QCOMPARE(a.at("conv2.weight")["dtype"].get<std::string>(), std::string("float32"));
}

void CliInspectTest::statisticsMatchTheTensors() {
  const std::string path = igpg_test::fixture("tinycnn_fmnist.safetensors");
  const auto listed = byName(safetensors_["tensors"]);
  const igpg::StateDict sd = igpg::loadSafetensors(path);
  for (const auto& e : sd.entries()) {
    const auto t = e.tensor.to(torch::kFloat64);
    const auto& row = listed.at(e.name);
    QCOMPARE(row["numel"].get<int64_t>(), t.numel());
    QVERIFY2(closeTo(row["mean"].get<double>(), t.mean().item<double>()), e.name.c_str());
    QVERIFY2(closeTo(row["std"].get<double>(), t.std().item<double>()), e.name.c_str());
    QCOMPARE(row["min"].get<double>(), t.min().item<double>());
    QCOMPARE(row["max"].get<double>(), t.max().item<double>());
    QCOMPARE(row["nonfinite"].get<int64_t>(), int64_t(0));
  }
}

void CliInspectTest::printsATable() {
  const auto run = runIgpg({"inspect", igpg_test::fixture("tinycnn_fmnist.pt")});
  QCOMPARE(run.exitCode, 0);
  QVERIFY2(run.out.find("pytorch, 10 tensors, 2464 values") != std::string::npos, run.out.c_str());
  QVERIFY(run.out.find("fc2.bias") != std::string::npos);
  QVERIFY2(run.err.empty(), run.err.c_str());
}

void CliInspectTest::badFilesFailWithOneLine() {
  igpg_test::ScratchDir dir;
  const std::string marker = dir.file("pwned");
  const std::string evil = dir.file("evil.pt");
  const std::string command = "touch " + marker;
  std::string pickle = "\x80\x02" "cposix\nsystem\nX";  // os.system(command) on Linux
  for (int i = 0; i < 4; ++i) pickle.push_back(char((command.size() >> (8 * i)) & 0xff));
  pickle += command + "\x85R.";
  igpg::writePyTorchArchive(evil, {{"data.pkl", pickle.data(), pickle.size()}});
  const std::string good = igpg_test::readBytes(igpg_test::fixture("tinycnn_fmnist.safetensors"));
  igpg_test::writeBytes(dir.file("cut.safetensors"), good.substr(0, good.size() - 10));
  const std::string legacyMagic("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
  igpg_test::writeBytes(dir.file("legacy.pt"), legacyMagic);
  igpg_test::writeBytes(dir.file("empty.pt"), "");

  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir.file("missing.pt"), "no such file"},
      {dir.file("cut.safetensors"), "past the end"},
      {evil, "refusing global 'posix.system'"},
      {dir.file("legacy.pt"), "PyTorch >= 1.6"},
      {dir.file("empty.pt"), "empty file"},
      {dir.path(), "folder"},
  };
  for (const auto& [path, reason] : cases) {
    const auto run = runIgpg({"inspect", path});
    QVERIFY2(run.exitCode == 1, (path + ": exit " + std::to_string(run.exitCode)).c_str());
    QVERIFY2(run.err.rfind("igpg: error: " + path + ": ", 0) == 0, run.err.c_str());
    QVERIFY2(run.err.find(reason) != std::string::npos, run.err.c_str());
    QCOMPARE(std::count(run.err.begin(), run.err.end(), '\n'), std::ptrdiff_t(1));
    QVERIFY2(run.out.empty(), run.out.c_str());
  }
  QVERIFY(!std::filesystem::exists(marker));
}

void CliInspectTest::usageErrors() {
  QCOMPARE(runIgpg({"inspect"}).exitCode, 2);
  const auto help = runIgpg({"inspect", "--help"});
  QCOMPARE(help.exitCode, 0);
  QVERIFY(help.out.find("safetensors") != std::string::npos);
}

IGPG_TEST_MAIN(CliInspectTest)
#include "test_cli_inspect.moc"
