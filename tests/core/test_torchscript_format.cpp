// TorchScript modules: parameters and buffers of a module built and saved here come back
// from loadWeightsFile under Python's state_dict names, in its order.
#include "igpg_test.h"
#include "test_util.h"

#include "common/error.h"
#include "formats/pytorch_file.h"
#include "formats/weights_file.h"
#include "formats/weights_summary.h"

#include <torch/script.h>
#include <torch/torch.h>

namespace {

// Python's nn.Module layout: parameters, buffers, then submodules, recursively.
torch::jit::Module buildModule() {
  torch::manual_seed(5);
  torch::jit::Module block("Block");
  block.register_parameter("weight", torch::randn({2, 3}), false);
  block.register_buffer("num_batches_tracked", torch::tensor(int64_t(7)));
  torch::jit::Module net("Net");
  net.register_parameter("weight", torch::randn({3, 4}), false);
  net.register_parameter("bias", torch::randn({3}).to(torch::kFloat64), false);
  net.register_buffer("running_mean", torch::randn({3}).to(torch::kBFloat16));
  net.register_module("block", block);
  return net;
}

}  // namespace

class TorchScriptFormatTest : public QObject {
  Q_OBJECT
 private slots:
  void importsParametersAndBuffers();
  void refusesBrokenArchives();
};

void TorchScriptFormatTest::importsParametersAndBuffers() {
  igpg_test::ScratchDir dir;
  const std::string path = dir.file("net.pt");
  const torch::jit::Module net = buildModule();
  net.save(path);
  QVERIFY(igpg::isTorchScriptArchive(igpg::pytorchArchiveRecords(path)));
  QVERIFY(igpg::detectWeightsFormat(path) == igpg::WeightsFormat::TorchScript);

  const auto sd = igpg::loadWeightsFile(path);
  const std::vector<std::string> names = {"weight", "bias", "running_mean", "block.weight",
                                          "block.num_batches_tracked"};
  QCOMPARE(sd.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) QCOMPARE(sd.entries()[i].name, names[i]);
  QVERIFY(torch::equal(sd.at("weight"), net.attr("weight").toTensor()));
  QVERIFY(torch::equal(sd.at("bias"), net.attr("bias").toTensor()));
  QVERIFY(sd.at("running_mean").scalar_type() == torch::kBFloat16);
  QVERIFY(torch::equal(sd.at("running_mean"), net.attr("running_mean").toTensor()));
  QVERIFY(torch::equal(sd.at("block.weight"), net.attr("block").toModule().attr("weight").toTensor()));
  QCOMPARE(sd.at("block.num_batches_tracked").item<int64_t>(), int64_t(7));
  QVERIFY(!sd.at("weight").requires_grad());

  // The same tensors travel on to the other formats.
  igpg::saveWeightsFile(dir.file("net.safetensors"), sd);
  QVERIFY(torch::equal(igpg::loadWeightsFile(dir.file("net.safetensors")).at("block.weight"), sd.at("block.weight")));
  QVERIFY(igpg::summarizeWeightsFile(path).format == igpg::WeightsFormat::TorchScript);
}

void TorchScriptFormatTest::refusesBrokenArchives() {
  igpg_test::ScratchDir dir;
  const std::string saved = dir.file("net.pt");
  buildModule().save(saved);
  const std::string bytes = igpg_test::readBytes(saved);
  const std::string cut = dir.file("cut.pt");
  igpg_test::writeBytes(cut, bytes.substr(0, bytes.size() - 40));
  // An archive that looks like TorchScript but whose code does not compile.
  const std::string garbled = dir.file("garbled.pt");
  const std::string code = "class Net(Module):\n  def forward(self, x\n", pickle = "\x80\x02).";
  igpg::writePyTorchArchive(garbled, {{"data.pkl", pickle.data(), pickle.size()},
                                      {"constants.pkl", pickle.data(), pickle.size()},
                                      {"code/__torch__.py", code.data(), code.size()}});
  QVERIFY(igpg::detectWeightsFormat(garbled) == igpg::WeightsFormat::TorchScript);
  for (const std::string& path : {cut, garbled}) {
    try {
      igpg::loadWeightsFile(path);
      QFAIL("a broken TorchScript archive loaded");
    } catch (const igpg::Error& e) {
      QVERIFY2(e.kind() == igpg::ErrorKind::Format, e.what());
      QVERIFY2(std::string(e.what()).rfind(path + ": ", 0) == 0, e.what());
      QVERIFY2(std::string(e.what()).find('\n') == std::string::npos, e.what());
    }
  }
}

IGPG_TEST_MAIN(TorchScriptFormatTest)
#include "test_torchscript_format.moc"
