// PyTorch .pt state dicts: the fixture written by Python's torch.save, exports that
// match torch.save byte for byte, pickles of protocols 4 and 5, and every refusal:
// code-running globals (with proof that nothing ran), legacy pickles, zips without
// data.pkl, views outside their storage, truncated and corrupted pickles.
#include "igpg_test.h"
#include "test_util.h"

#include "common/error.h"
#include "formats/pytorch_file.h"
#include "formats/pytorch_pickle.h"
#include "formats/weights_file.h"

#include <caffe2/serialize/inline_container.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <random>

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string fixturePickle() {
  caffe2::serialize::PyTorchStreamReader reader(igpg_test::fixture("tinycnn_fmnist.pt"));
  auto [data, size] = reader.getRecord("data.pkl");
  return std::string(static_cast<const char*>(data.get()), size);
}

// --- pickles written by hand -------------------------------------------------------------

std::string littleEndian(int64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(char((uint64_t(v) >> (8 * i)) & 0xff));
  return s;
}
std::string unicode(const std::string& s) { return "X" + littleEndian(int64_t(s.size()), 4) + s; }
std::string shortUnicode(const std::string& s) { return "\x8c" + std::string(1, char(s.size())) + s; }
std::string integer(int64_t v) {
  return v == int32_t(v) ? "J" + littleEndian(v, 4) : "\x8a\x08" + littleEndian(v, 8);  // BININT or LONG1
}
std::string intTuple(const std::vector<int64_t>& values) {
  std::string s = "(";
  for (int64_t v : values) s += integer(v);
  return s + "t";
}

// A state dict {"w": tensor} over FloatStorage "0" of `numel` elements, as torch.save
// writes it but with the view given here.
std::string viewPickle(int64_t numel, int64_t offset, const std::vector<int64_t>& sizes,
                       const std::vector<int64_t>& strides) {
  return std::string("\x80\x02") + "ccollections\nOrderedDict\n)R(" + unicode("w") +
         "ctorch._utils\n_rebuild_tensor_v2\n((" + unicode("storage") + "ctorch\nFloatStorage\n" + unicode("0") +
         unicode("cpu") + integer(numel) + "tQ" + integer(offset) + intTuple(sizes) + intTuple(strides) +
         "\x89" + "ccollections\nOrderedDict\n)RtRu.";
}

std::string floatBytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

void writeArchive(const std::string& path, const std::string& pickle,
                  const std::vector<std::pair<std::string, std::string>>& storages) {
  std::vector<igpg::ArchiveRecord> records = {{"data.pkl", pickle.data(), pickle.size()}};
  for (const auto& [name, bytes] : storages) records.push_back({name, bytes.data(), bytes.size()});
  igpg::writePyTorchArchive(path, records);
}

std::string fromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// What Python 3's pickle.Pickler(protocol=4) writes for an OrderedDict with _metadata
// holding {"w": (2,3) view, "w_t": its transpose on the same FloatStorage "0" of 6
// elements, "step": a 0-dim tensor on LongStorage "1"}, stand-in torch modules and a
// persistent_id as torch.save's. _metadata holds 1.5, 2**40, -5, [1, 2], b"xy", None,
// True: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, BINFLOAT, LONG1, APPENDS, ...
const char* kProtocol4Pickle =
    "8004956f010000000000008c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c0177948c0c746f72"
    "63682e5f7574696c73948c125f72656275696c645f74656e736f725f763294939428288c0773746f72616765948c05746f726368948c"
    "0c466c6f617453746f726167659493948c0130948c03637075944b067494514b004b024b0386944b034b018694896802295294749452"
    "948c03775f7494680728286808680b680c680d4b067494514b004b034b0286944b014b038694896802295294749452948c0473746570"
    "9468072828680868098c0b4c6f6e6753746f726167659493948c013194680d4b017494514b00292989680229529474945294757d948c"
    "095f6d657461646174619468022952948c00947d94288c0776657273696f6e944b018c016694473ff80000000000008c03626967948a"
    "060000000000018c036e6567944afbffffff8c016c945d94284b014b02658c01629443027879948c016e944e8c01749488757373622e";

// Random contents for every dtype a .pt file can hold, including 0-dim and empty tensors.
igpg::StateDict randomStateDict(uint64_t seed) {
  torch::manual_seed(seed);
  igpg::StateDict sd;
  sd.add("f64", torch::randn({3, 2}, torch::kFloat64));
  sd.add("f32", torch::randn({2, 3, 4, 5}));
  sd.add("f16", torch::randn({7}).to(torch::kFloat16));
  sd.add("bf16", torch::randn({4, 4}).to(torch::kBFloat16));
  sd.add("i64", torch::randint(-(int64_t(1) << 40), int64_t(1) << 40, {5}, torch::kInt64));
  sd.add("i32", torch::randint(-100000, 100000, {0, 3}, torch::kInt32));
  sd.add("i16", torch::randint(-30000, 30000, {2, 1}, torch::kInt16));
  sd.add("i8", torch::randint(-128, 127, {9}, torch::kInt8));
  sd.add("u8", torch::randint(0, 255, {70000}, torch::kUInt8));  // sizes past 65535: BININT
  sd.add("bool", torch::randint(0, 2, {6}).to(torch::kBool));
  sd.add("scalar", torch::tensor(3.5, torch::kFloat32));
  sd.add("transposed", torch::randn({3, 4}).t());
  return sd;
}

bool sameBytes(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), size_t(ca.numel()) * ca.element_size()) == 0;
}

const igpg::StorageLoader kZeroStorages = [](const std::string&, torch::ScalarType dtype, int64_t numel) {
  if (numel > 1 << 20) igpg::fail(igpg::ErrorKind::Format, "test", "storage too large");
  return torch::zeros({numel}, torch::TensorOptions().dtype(dtype));
};

igpg::StateDict unpickle(const std::string& pickle, const igpg::StorageLoader& storages = kZeroStorages) {
  return igpg::unpickleStateDict(reinterpret_cast<const uint8_t*>(pickle.data()), pickle.size(), storages, "test.pkl");
}

bool havePython() { return igpg_test::runProcess({"/usr/bin/env", "python3", "-c", "pass"}).exitCode == 0; }

// Reads an exported .pt with Python's own pickle machinery (a restricted Unpickler whose
// globals and persistent ids are stubs), checks the archive's layout and compares the
// opcode sequence with the fixture that torch.save wrote.
const char* kPythonChecker = R"PY(
import collections, io, json, pickle, pickletools, struct, sys, zipfile
exported, fixture = sys.argv[1], sys.argv[2]
ITEMSIZE = {'DoubleStorage': 8, 'FloatStorage': 4, 'HalfStorage': 2, 'BFloat16Storage': 2, 'LongStorage': 8,
            'IntStorage': 4, 'ShortStorage': 2, 'CharStorage': 1, 'ByteStorage': 1, 'BoolStorage': 1}
class Storage:
    def __init__(self, cls, key, numel): self.cls, self.key, self.numel = cls, key, numel
def rebuild(storage, offset, size, stride, requires_grad, hooks):
    assert isinstance(storage, Storage) and type(hooks) is collections.OrderedDict and not hooks
    return dict(storage=storage.cls, key=storage.key, numel=storage.numel, offset=offset, size=list(size),
                stride=list(stride), requires_grad=requires_grad)
class Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ('collections', 'OrderedDict'): return collections.OrderedDict
        if (module, name) == ('torch._utils', '_rebuild_tensor_v2'): return rebuild
        if module == 'torch' and name in ITEMSIZE: return name
        raise pickle.UnpicklingError('global %s.%s refused' % (module, name))
    def persistent_load(self, pid):
        kind, cls, key, location, numel = pid
        assert kind == 'storage' and location == 'cpu', pid
        return Storage(cls, key, numel)
def opened(path):
    z = zipfile.ZipFile(path)
    return z, z.namelist()[0].split('/')[0]
z, top = opened(exported)
raw = open(exported, 'rb').read()
pkl = z.read(top + '/data.pkl')
sd = Restricted(io.BytesIO(pkl)).load()
assert type(sd) is collections.OrderedDict, type(sd)
for name, t in sd.items():
    info = z.getinfo(top + '/data/' + t['key'])
    assert info.file_size == t['numel'] * ITEMSIZE[t['storage']], name
    name_len, extra_len = struct.unpack('<HH', raw[info.header_offset + 26:info.header_offset + 30])
    assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0, name + ' record not 64-byte aligned'
for record in ('byteorder', 'version', '.format_version', '.storage_alignment'):
    assert top + '/' + record in z.namelist(), record
assert z.read(top + '/byteorder') == b'little'
ops = lambda data: [op.name for op, arg, pos in pickletools.genops(data)]
fz, ftop = opened(fixture)
theirs, ours = ops(fz.read(ftop + '/data.pkl')), ops(pkl)
assert theirs[:len(ours) - 1] == ours[:-1] and ours[-1] == 'STOP', 'opcode sequence differs from torch.save'
print(json.dumps(sd))
)PY";

}  // namespace

class PyTorchFormatTest : public QObject {
  Q_OBJECT
 private slots:
  void readsFixtureLikeSafetensors();
  void exportMatchesTorchSaveBytes();
  void exportRoundTripsEveryDtypeBitExact();
  void pythonPickleReadsExport();
  void readsProtocol4And5Pickles();
  void refusesCodeRunningGlobals();
  void refusesLegacyPickles();
  void refusesZipsThatAreNotStateDicts();
  void refusesViewsOutsideTheirStorage();
  void refusesObjectsThatAreNotStateDicts();
  void survivesTruncatedAndCorruptedPickles();
  void boundsStackAndMarks();
};

void PyTorchFormatTest::readsFixtureLikeSafetensors() {
  const std::string pt = igpg_test::fixture("tinycnn_fmnist.pt");
  QVERIFY(igpg::detectWeightsFormat(pt) == igpg::WeightsFormat::PyTorchZip);
  const auto fromPt = igpg::loadWeightsFile(pt);
  const auto fromSafetensors = igpg::loadWeightsFile(igpg_test::fixture("tinycnn_fmnist.safetensors"));
  const auto reference = nlohmann::json::parse(igpg_test::readBytes(igpg_test::fixture("reference.json")));
  QCOMPARE(fromPt.size(), reference["state_dict_keys"].size());
  for (size_t i = 0; i < fromPt.size(); ++i) {
    const auto& e = fromPt.entries()[i];
    QCOMPARE(e.name, reference["state_dict_keys"][i].get<std::string>());  // torch.save's order
    QVERIFY2(sameBytes(e.tensor, fromSafetensors.at(e.name)), e.name.c_str());
  }
  QCOMPARE(fromPt.numel(), reference["parameters"].get<int64_t>());
}

void PyTorchFormatTest::exportMatchesTorchSaveBytes() {
  // torch.save's data.pkl is the OrderedDict with its items, then the _metadata
  // attribute (BUILD), then STOP. Ours is the same without _metadata.
  const auto sd = igpg::loadWeightsFile(igpg_test::fixture("tinycnn_fmnist.pt"));
  const std::string ours = igpg::pickleStateDict(sd).pickle;
  const std::string theirs = fixturePickle();
  QVERIFY(ours.size() > 100 && ours.back() == '.');
  QCOMPARE(ours.substr(0, ours.size() - 1), theirs.substr(0, ours.size() - 1));
  QCOMPARE(theirs.substr(ours.size() - 1, 17), std::string("}q\x56X\x09\0\0\0_metadata", 17));
}

void PyTorchFormatTest::exportRoundTripsEveryDtypeBitExact() {
  igpg_test::ScratchDir dir;
  const auto sd = randomStateDict(42);
  for (const std::string name : {"model.pt", "model.pth"}) {
    const std::string path = dir.file(name);
    igpg::saveWeightsFile(path, sd);
    QVERIFY(igpg::detectWeightsFormat(path) == igpg::WeightsFormat::PyTorchZip);
    const auto back = igpg::loadWeightsFile(path);
    QCOMPARE(back.size(), sd.size());
    for (size_t i = 0; i < sd.size(); ++i) {
      QCOMPARE(back.entries()[i].name, sd.entries()[i].name);
      QVERIFY2(sameBytes(back.entries()[i].tensor, sd.entries()[i].tensor), sd.entries()[i].name.c_str());
    }
  }
  const auto records = igpg::pytorchArchiveRecords(dir.file("model.pt"));
  const std::vector<std::string> expected = {"data.pkl", ".format_version", ".storage_alignment", "byteorder",
                                             "data/0"};
  QVERIFY(records.size() >= expected.size() + sd.size());
  for (size_t i = 0; i < expected.size(); ++i) QCOMPARE(records[i], expected[i]);
  QVERIFY(std::find(records.begin(), records.end(), "version") != records.end());
  QVERIFY(!igpg::isTorchScriptArchive(records));

  // A dtype without a typed storage class is refused before anything is written.
  igpg::StateDict complex;
  complex.add("z", torch::ones({2}, torch::kComplexFloat));
  const auto e = igpg_test::thrownBy<igpg::Error>([&] { igpg::saveWeightsFile(dir.file("complex.pt"), complex); });
  QVERIFY2(contains(e.what(), "tensor z"), e.what());
  QVERIFY(!std::filesystem::exists(dir.file("complex.pt")));
}

void PyTorchFormatTest::pythonPickleReadsExport() {
  if (!havePython()) QSKIP("python3 is not installed");
  igpg_test::ScratchDir dir;
  igpg::StateDict sd = igpg::loadWeightsFile(igpg_test::fixture("tinycnn_fmnist.pt"));
  const std::string exported = dir.file("export.pt");
  igpg::saveWeightsFile(exported, sd);
  igpg_test::writeBytes(dir.file("check.py"), kPythonChecker);
  const auto run = igpg_test::runProcess(
      {"/usr/bin/env", "python3", dir.file("check.py"), exported, igpg_test::fixture("tinycnn_fmnist.pt")});
  QVERIFY2(run.exitCode == 0, run.err.c_str());
  const auto seen = nlohmann::json::parse(run.out);
  QCOMPARE(seen.size(), sd.size());
  for (const auto& e : sd.entries()) {
    const auto& t = seen.at(e.name);
    QCOMPARE(t["storage"].get<std::string>(), std::string("FloatStorage"));
    QVERIFY(t["size"].get<std::vector<int64_t>>() == e.tensor.sizes().vec());
    QVERIFY(t["stride"].get<std::vector<int64_t>>() == e.tensor.contiguous().strides().vec());
    QCOMPARE(t["numel"].get<int64_t>(), e.tensor.numel());
    QCOMPARE(t["requires_grad"].get<bool>(), false);
  }
}

void PyTorchFormatTest::readsProtocol4And5Pickles() {
  igpg_test::ScratchDir dir;
  const std::vector<float> values = {0, 1, 2, 3, 4, 5};
  const int64_t step = 42;
  const std::string longBytes(reinterpret_cast<const char*>(&step), sizeof step);
  for (char protocol : {'\x04', '\x05'}) {
    std::string pickle = fromHex(kProtocol4Pickle);
    pickle[1] = protocol;
    const std::string path = dir.file("p" + std::to_string(int(protocol)) + ".pt");
    writeArchive(path, pickle, {{"data/0", floatBytes(values)}, {"data/1", longBytes}});
    const auto sd = igpg::loadWeightsFile(path);
    QCOMPARE(sd.size(), size_t(3));
    const auto w = torch::arange(6, torch::kFloat32).reshape({2, 3});
    QVERIFY(torch::equal(sd.at("w"), w));
    QVERIFY(torch::equal(sd.at("w_t"), w.t()));
    QVERIFY(sd.at("w_t").data_ptr() == sd.at("w").data_ptr());  // one storage, as torch.load gives
    QCOMPARE(sd.at("step").dim(), int64_t(0));
    QCOMPARE(sd.at("step").item<int64_t>(), step);
  }
}

void PyTorchFormatTest::refusesCodeRunningGlobals() {
  igpg_test::ScratchDir dir;
  struct Attack {
    std::string global;
    std::string pickle;
  };
  const std::string marker = dir.file("pwned");
  const std::string touch = "touch " + marker;
  const std::vector<Attack> attacks = {
      {"os.system", "\x80\x02" "cos\nsystem\n" + unicode(touch) + "\x85R."},
      {"posix.system", "\x80\x02" "cposix\nsystem\n" + unicode(touch) + "\x85R."},
      {"builtins.eval",
       "\x80\x02" "cbuiltins\neval\n" + unicode("__import__('os').system('" + touch + "')") + "\x85R."},
      {"subprocess.check_call", "\x80\x04" + shortUnicode("subprocess") + "\x94" + shortUnicode("check_call") +
                                    "\x94\x93\x94](" + shortUnicode("touch") + shortUnicode(marker) + "e\x85R."},
      // Hidden inside a state dict, after a legitimate start.
      {"os.system", std::string("\x80\x02") + "ccollections\nOrderedDict\n)R(" + unicode("w") + "cos\nsystem\n" +
                        unicode(touch) + "\x85Ru."},
  };
  for (size_t i = 0; i < attacks.size(); ++i) {
    const std::string path = dir.file("evil" + std::to_string(i) + ".pt");
    writeArchive(path, attacks[i].pickle, {});
    const auto e = igpg_test::thrownBy<igpg::Error>([&] { igpg::loadWeightsFile(path); });
    QVERIFY2(e.kind() == igpg::ErrorKind::Unsafe, e.what());
    QVERIFY2(contains(e.what(), path) && contains(e.what(), "'" + attacks[i].global + "'"), e.what());
    QVERIFY(!std::filesystem::exists(marker));
  }
  // The payload is live: Python's plain pickle runs it.
  if (havePython()) {
    igpg_test::writeBytes(dir.file("evil.pkl"), attacks[0].pickle);
    igpg_test::runProcess({"/usr/bin/env", "python3", "-c", "import pickle, sys; pickle.load(open(sys.argv[1], 'rb'))",
                           dir.file("evil.pkl")});
    QVERIFY(std::filesystem::exists(marker));
  }
}

void PyTorchFormatTest::refusesLegacyPickles() {
  igpg_test::ScratchDir dir;
  // torch.save(..., _use_new_zipfile_serialization=False) starts with the magic number 0x1950a86a20f9469cfc6c.
  const std::string path = dir.file("legacy.pt");
  igpg_test::writeBytes(path, std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15));
  QVERIFY(igpg::detectWeightsFormat(path) == igpg::WeightsFormat::LegacyPickle);
  const auto e = igpg_test::thrownBy<igpg::Error>([&] { igpg::loadWeightsFile(path); });
  QVERIFY(e.kind() == igpg::ErrorKind::Format);
  QVERIFY2(contains(e.what(), path) && contains(e.what(), "PyTorch >= 1.6") && contains(e.what(), "safetensors"),
           e.what());
}

void PyTorchFormatTest::refusesZipsThatAreNotStateDicts() {
  igpg_test::ScratchDir dir;
  const std::string noPickle = dir.file("nopickle.pt");
  const std::string bytes = floatBytes({1, 2, 3});
  igpg::writePyTorchArchive(noPickle, {{"weights.bin", bytes.data(), bytes.size()}});
  const auto e = igpg_test::thrownBy<igpg::Error>([&] { igpg::loadWeightsFile(noPickle); });
  QVERIFY2(e.kind() == igpg::ErrorKind::Format && contains(e.what(), noPickle) && contains(e.what(), "data.pkl"),
           e.what());

  const std::string fixtureBytes = igpg_test::readBytes(igpg_test::fixture("tinycnn_fmnist.pt"));
  const std::string cut = dir.file("cut.pt");
  igpg_test::writeBytes(cut, fixtureBytes.substr(0, fixtureBytes.size() / 2));
  const auto truncated = igpg_test::thrownBy<igpg::Error>([&] { igpg::loadWeightsFile(cut); });
  QVERIFY2(truncated.kind() == igpg::ErrorKind::Format && contains(truncated.what(), cut), truncated.what());
  QVERIFY2(!contains(truncated.what(), "\n"), truncated.what());  // one line, no LibTorch backtrace
}

void PyTorchFormatTest::refusesViewsOutsideTheirStorage() {
  igpg_test::ScratchDir dir;
  const std::string four = floatBytes({0, 1, 2, 3});
  struct Case {
    std::string pickle;
    std::vector<std::pair<std::string, std::string>> records;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {viewPickle(4, 2, {3}, {1}), {{"data/0", four}}, "reaches past the end of the storage"},
      {viewPickle(4, 0, {2, 2}, {3, 1}), {{"data/0", four}}, "reaches past the end of the storage"},
      {viewPickle(4, 5, {0}, {1}), {{"data/0", four}}, "reaches past the end of the storage"},
      {viewPickle(4, 0, {2}, {-1}), {{"data/0", four}}, "negative"},
      {viewPickle(4, 0, {int64_t(1) << 62, 4}, {4, 1}), {{"data/0", four}}, "overflows"},
      {viewPickle(4, 0, {4}, {1}), {{"data/0", four.substr(0, 12)}}, "holds 12 bytes"},
      {viewPickle(4, 0, {4}, {1}), {}, "lacks"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = dir.file("view" + std::to_string(i) + ".pt");
    writeArchive(path, cases[i].pickle, cases[i].records);
    const auto e = igpg_test::thrownBy<igpg::Error>([&] { igpg::loadWeightsFile(path); });
    QVERIFY2(e.kind() == igpg::ErrorKind::Format && contains(e.what(), cases[i].expected), e.what());
    QVERIFY2(contains(e.what(), path), e.what());
  }
  // A strided view inside the storage is fine and sees the right elements.
  const std::string ok = dir.file("ok.pt");
  writeArchive(ok, viewPickle(4, 1, {2}, {2}), {{"data/0", four}});
  QVERIFY(torch::equal(igpg::loadWeightsFile(ok).at("w"), torch::tensor({1.f, 3.f})));
}

void PyTorchFormatTest::refusesObjectsThatAreNotStateDicts() {
  const auto list = igpg_test::thrownBy<igpg::Error>([] { unpickle("\x80\x02]."); });
  QVERIFY2(contains(list.what(), "holds a list, not a state dict"), list.what());
  const auto epoch = igpg_test::thrownBy<igpg::Error>([] { unpickle("\x80\x02}(" + unicode("epoch") + "K\x03u."); });
  QVERIFY2(contains(epoch.what(), "entry 'epoch' is an int, not a tensor"), epoch.what());
  const auto nested = igpg_test::thrownBy<igpg::Error>([] { unpickle("\x80\x02}(" + unicode("model") + "}u."); });
  QVERIFY2(contains(nested.what(), "checkpoint"), nested.what());
  const auto newobj =
      igpg_test::thrownBy<igpg::Error>([] { unpickle("\x80\x02" "ccollections\nOrderedDict\n)\x81."); });
  QVERIFY2(contains(newobj.what(), "unsupported pickle opcode 0x81"), newobj.what());
}

void PyTorchFormatTest::survivesTruncatedAndCorruptedPickles() {
  const std::string pickle = fixturePickle();
  QCOMPARE(unpickle(pickle).size(), size_t(10));
  for (size_t cut = 0; cut < pickle.size(); ++cut)
    QVERIFY_THROWS_EXCEPTION(igpg::Error, unpickle(pickle.substr(0, cut)));
  // Random byte changes must give a state dict or an igpg::Error, never a crash or
  // another exception (which would fail this test).
  std::mt19937 rng(1234);
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string mutated = pickle;
    for (int k = 0, n = 1 + int(rng() % 3); k < n; ++k) mutated[rng() % mutated.size()] = char(rng());
    try {
      unpickle(mutated);
    } catch (const igpg::Error&) {
      ++refused;
    }
  }
  QVERIFY(refused > 1000);
}

void PyTorchFormatTest::boundsStackAndMarks() {
  const std::string tooMany(igpg::kPickleMaxStack + 1, 'N');
  const auto deep = igpg_test::thrownBy<igpg::Error>([&] { unpickle("\x80\x02" + tooMany + "."); });
  QVERIFY2(contains(deep.what(), "stack deeper than"), deep.what());
  const std::string tooManyMarks(igpg::kPickleMaxStack + 1, '(');
  const auto marks = igpg_test::thrownBy<igpg::Error>([&] { unpickle("\x80\x02" + tooManyMarks + "."); });
  QVERIFY2(contains(marks.what(), "MARK"), marks.what());
  const auto memo = igpg_test::thrownBy<igpg::Error>([] { unpickle("\x80\x02h\x07."); });
  QVERIFY2(contains(memo.what(), "memo entry 7 was never stored"), memo.what());
}

IGPG_TEST_MAIN(PyTorchFormatTest)
#include "test_pytorch_format.moc"
