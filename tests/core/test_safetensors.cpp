// safetensors: bit-exact round trips for every dtype with metadata, the fixture written
// by the reference implementation, and every kind of bad file refused with a clean error.
#include "igpg_test.h"
#include "test_util.h"

#include "common/error.h"
#include "formats/safetensors.h"
#include "formats/weights_file.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

namespace {

// Tensors of every supported dtype filled with random bytes (NaN payloads and
// subnormals included), so that only a bit-exact path compares equal.
igpg::StateDict everyDtype(uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::vector<std::pair<torch::ScalarType, std::vector<int64_t>>> specs = {
      {torch::kFloat64, {3, 5}},    {torch::kFloat32, {2, 3, 4}}, {torch::kFloat16, {7}},
      {torch::kBFloat16, {4, 4}},   {torch::kInt64, {}},          {torch::kInt32, {0, 3}},
      {torch::kInt16, {5, 1, 2}},   {torch::kInt8, {9}},          {torch::kUInt8, {2, 2, 2, 2, 2}},
      {torch::kBool, {6}},
  };
  igpg::StateDict sd;
  for (const auto& [dtype, shape] : specs) {
    auto t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
    auto* bytes = static_cast<uint8_t*>(t.data_ptr());
    for (int64_t i = 0; i < t.numel() * int64_t(t.element_size()); ++i)
      bytes[i] = dtype == torch::kBool ? uint8_t(rng() & 1) : uint8_t(rng());
    sd.add(std::string("t_") + c10::toString(dtype), t);
  }
  sd.metadata = {{"arch", "tinycnn"}, {"seed", std::to_string(seed)}};
  return sd;
}

bool sameBytes(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), size_t(ca.numel()) * ca.element_size()) == 0;
}

void verifySame(const igpg::StateDict& expected, const igpg::StateDict& actual) {
  QCOMPARE(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    QCOMPARE(actual.entries()[i].name, expected.entries()[i].name);
    QVERIFY2(sameBytes(actual.entries()[i].tensor, expected.entries()[i].tensor), expected.entries()[i].name.c_str());
  }
  QVERIFY(actual.metadata == expected.metadata);
}

// A safetensors file from a header written by hand and `dataBytes` bytes of data.
std::string rawFile(const std::string& header, size_t dataBytes) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(char((uint64_t(header.size()) >> (8 * i)) & 0xff));
  return out + header + std::string(dataBytes, '\x01');
}

igpg::Error decodeError(const std::string& bytes) {
  return igpg_test::thrownBy<igpg::Error>([&] {
    igpg::decodeSafetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "bad.safetensors");
  });
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

class SafetensorsTest : public QObject {
  Q_OBJECT
 private slots:
  void roundTripEveryDtypeBitExact();
  void roundTripThroughFilesKeepsOrder();
  void nonContiguousAndForeignTensorsAreWrittenContiguous();
  void readsReferenceFixture();
  void detectedByContentNotByMagicLookalikes();
  void refusesHugeHeaderLength();
  void refusesTruncatedFiles();
  void refusesOffsetsPastTheEnd();
  void refusesOverlapsHolesAndSizeMismatch();
  void refusesMalformedHeaders();
  void refusesMissingFilesAndFolders();
  void refusesUnreadableFiles();
  void refusesUnwritableTensorsWithoutWriting();
};

void SafetensorsTest::roundTripEveryDtypeBitExact() {
  const igpg::StateDict sd = everyDtype(7);
  const auto bytes = igpg::encodeSafetensors(sd);
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | bytes[size_t(i)];
  QCOMPARE((8 + headerLen) % 8, uint64_t(0));  // data starts 8-byte aligned
  const auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + long(headerLen));
  QCOMPARE(header["__metadata__"]["arch"].get<std::string>(), std::string("tinycnn"));
  QCOMPARE(header["t_BFloat16"]["dtype"].get<std::string>(), std::string("BF16"));
  QCOMPARE(header["t_Bool"]["dtype"].get<std::string>(), std::string("BOOL"));
  verifySame(sd, igpg::decodeSafetensors(bytes.data(), bytes.size(), "memory"));
}

void SafetensorsTest::roundTripThroughFilesKeepsOrder() {
  igpg_test::ScratchDir dir;
  igpg::StateDict sd = everyDtype(11);
  // Names out of alphabetical order: the file's data order must bring the order back.
  igpg::StateDict ordered;
  ordered.add("z.last", sd.at("t_Float"));
  for (const auto& e : sd.entries()) ordered.add(e.name, e.tensor);
  ordered.metadata = sd.metadata;
  const std::string path = dir.file("w.safetensors");
  igpg::saveWeightsFile(path, ordered);
  QVERIFY(igpg::detectWeightsFormat(path) == igpg::WeightsFormat::Safetensors);
  verifySame(ordered, igpg::loadWeightsFile(path));
  const auto bytes = igpg::encodeSafetensors(ordered);
  QCOMPARE(igpg_test::readBytes(path), std::string(bytes.begin(), bytes.end()));
}

void SafetensorsTest::nonContiguousAndForeignTensorsAreWrittenContiguous() {
  igpg::StateDict sd;
  const auto base = torch::arange(12, torch::kFloat32).reshape({3, 4});
  sd.add("transposed", base.t());
  sd.add("sliced", base.index({torch::indexing::Slice(), 1}));
  const auto bytes = igpg::encodeSafetensors(sd);
  const auto back = igpg::decodeSafetensors(bytes.data(), bytes.size(), "memory");
  QVERIFY(torch::equal(back.at("transposed"), base.t()));
  QVERIFY(torch::equal(back.at("sliced"), torch::tensor({1.f, 5.f, 9.f})));
}

void SafetensorsTest::readsReferenceFixture() {
  const auto sd = igpg::loadWeightsFile(igpg_test::fixture("tinycnn_fmnist.safetensors"));
  const auto reference = nlohmann::json::parse(igpg_test::readBytes(igpg_test::fixture("reference.json")));
  QCOMPARE(sd.size(), reference["state_dict_keys"].size());
  for (const auto& key : reference["state_dict_keys"]) QVERIFY(sd.contains(key.get<std::string>()));
  QCOMPARE(sd.numel(), reference["parameters"].get<int64_t>());
  QCOMPARE(sd.metadata.at("arch"), std::string("tinycnn"));
  QCOMPARE(sd.metadata.at("dataset"), std::string("fashion-mnist"));
  QVERIFY(sd.at("conv1.weight").sizes() == torch::IntArrayRef({8, 1, 5, 5}));
  QVERIFY(sd.at("fc2.bias").scalar_type() == torch::kFloat32);
  // The reference writer sorts by name for one dtype; data order is that order.
  QCOMPARE(sd.entries().front().name, std::string("conv1.bias"));
}

void SafetensorsTest::detectedByContentNotByMagicLookalikes() {
  igpg_test::ScratchDir dir;
  // A 640-byte header: the file starts 80 02, as a protocol-2 pickle (torch's legacy format) does.
  std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  header.resize(640, ' ');
  const std::string path = dir.file("lookalike.pt");
  igpg_test::writeBytes(path, rawFile(header, 4));
  QCOMPARE(igpg_test::readBytes(path).substr(0, 2), std::string("\x80\x02"));
  QVERIFY(igpg::detectWeightsFormat(path) == igpg::WeightsFormat::Safetensors);
  QCOMPARE(igpg::loadWeightsFile(path).at("a").numel(), int64_t(1));
}

void SafetensorsTest::refusesHugeHeaderLength() {
  std::string bytes(8, '\0');
  bytes[7] = char(0x80);  // 2^63
  bytes += "{}";
  const auto e = decodeError(bytes);
  QVERIFY(e.kind() == igpg::ErrorKind::Format);
  QVERIFY2(contains(e.what(), "header length 9223372036854775808 exceeds"), e.what());
  // The file reader checks before it allocates anything for the header.
  igpg_test::ScratchDir dir;
  igpg_test::writeBytes(dir.file("huge.safetensors"), bytes);
  const auto fromFile = igpg_test::thrownBy<igpg::Error>([&] { igpg::loadWeightsFile(dir.file("huge.safetensors")); });
  QVERIFY2(contains(fromFile.what(), "huge.safetensors: header length"), fromFile.what());
}

void SafetensorsTest::refusesTruncatedFiles() {
  igpg_test::ScratchDir dir;
  const auto good = igpg::encodeSafetensors(everyDtype(3));
  const std::string full(good.begin(), good.end());
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | good[size_t(i)];
  for (size_t cut : {size_t(0), size_t(5), size_t(8 + headerLen / 2), size_t(8 + headerLen + 3), full.size() - 1}) {
    const std::string path = dir.file("cut" + std::to_string(cut) + ".safetensors");
    igpg_test::writeBytes(path, full.substr(0, cut));
    QVERIFY(contains(decodeError(full.substr(0, cut)).what(), "bad.safetensors"));
    const auto e = igpg_test::thrownBy<igpg::Error>([&] { igpg::loadSafetensors(path); });
    QVERIFY2(e.kind() == igpg::ErrorKind::Format && contains(e.what(), path), e.what());
  }
}

void SafetensorsTest::refusesOffsetsPastTheEnd() {
  const auto e = decodeError(rawFile(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
  QVERIFY2(contains(e.what(), "tensor a") && contains(e.what(), "past the end"), e.what());
  const auto huge =
      decodeError(rawFile(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[18446744073709551600,16]}})", 16));
  QVERIFY2(contains(huge.what(), "begin after they end"), huge.what());
  const auto overflow =
      decodeError(rawFile(R"({"a":{"dtype":"F64","shape":[4611686018427387904,8],"data_offsets":[0,8]}})", 8));
  QVERIFY2(contains(overflow.what(), "overflows"), overflow.what());
}

void SafetensorsTest::refusesOverlapsHolesAndSizeMismatch() {
  const auto overlap = decodeError(rawFile(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      12));
  QVERIFY2(contains(overlap.what(), "overlaps"), overlap.what());
  const auto hole = decodeError(rawFile(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
      12));
  QVERIFY2(contains(hole.what(), "hole"), hole.what());
  const auto trailing = decodeError(rawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8));
  QVERIFY2(contains(trailing.what(), "4 bytes of data belong to no tensor"), trailing.what());
  const auto mismatch = decodeError(rawFile(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
  QVERIFY2(contains(mismatch.what(), "shape x dtype is 12 bytes"), mismatch.what());
}

void SafetensorsTest::refusesMalformedHeaders() {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})", "not valid JSON"},
      {R"([1,2])", "not a JSON object"},
      {R"({"a":{"dtype":"C64","shape":[1],"data_offsets":[0,4]}})", "unsupported dtype C64"},
      {R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "negative dimension"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "data_offsets must be"},
      {R"({"a":{"shape":[1],"data_offsets":[0,4]}})", "missing dtype"},
      {R"({"__metadata__":{"k":1}})", "__metadata__.k is not a string"},
  };
  for (const auto& [header, expected] : cases) {
    const auto e = decodeError(rawFile(header, 4));
    QVERIFY2(e.kind() == igpg::ErrorKind::Format && contains(e.what(), expected), e.what());
  }
}

void SafetensorsTest::refusesMissingFilesAndFolders() {
  igpg_test::ScratchDir dir;
  const auto missing = igpg_test::thrownBy<igpg::Error>([&] { igpg::loadWeightsFile(dir.file("absent.safetensors")); });
  QVERIFY(missing.kind() == igpg::ErrorKind::NotFound);
  QVERIFY(contains(missing.what(), "absent.safetensors"));
  const auto folder = igpg_test::thrownBy<igpg::Error>([&] { igpg::loadWeightsFile(dir.path()); });
  QVERIFY(folder.kind() == igpg::ErrorKind::Io);
  QVERIFY(contains(folder.what(), "folder"));
}

void SafetensorsTest::refusesUnreadableFiles() {
  igpg_test::ScratchDir dir;
  const std::string locked = dir.file("locked.safetensors");
  igpg::saveSafetensors(locked, everyDtype(1));
  std::filesystem::permissions(locked, std::filesystem::perms::none);
  if (std::ifstream(locked).good()) QSKIP("running with privileges that read any file");
  const auto unreadable = igpg_test::thrownBy<igpg::Error>([&] { igpg::loadWeightsFile(locked); });
  QVERIFY2(unreadable.kind() == igpg::ErrorKind::Io && contains(unreadable.what(), "locked.safetensors"),
           unreadable.what());
}

void SafetensorsTest::refusesUnwritableTensorsWithoutWriting() {
  igpg_test::ScratchDir dir;
  igpg::StateDict sd;
  sd.add("ok", torch::ones({2}));
  sd.add("complex", torch::ones({2}, torch::kComplexFloat));
  const std::string path = dir.file("out.safetensors");
  const auto e = igpg_test::thrownBy<igpg::Error>([&] { igpg::saveWeightsFile(path, sd); });
  QVERIFY2(contains(e.what(), "tensor complex"), e.what());
  QVERIFY(!std::filesystem::exists(path));
  QVERIFY(std::filesystem::is_empty(dir.path()));  // no temporary file left either
  igpg::StateDict reserved;
  reserved.add("__metadata__", torch::ones({1}));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::encodeSafetensors(reserved));
}

IGPG_TEST_MAIN(SafetensorsTest)
#include "test_safetensors.moc"
