// Shared helpers: SHA-256 against known vectors, atomic writes, error formatting,
// progress/ETA and cancellation.
#include "igpg_test.h"
#include "test_util.h"

#include "common/error.h"
#include "common/files.h"
#include "common/sha256.h"
#include "jobs/progress.h"

#include <filesystem>

class CommonTest : public QObject {
  Q_OBJECT
 private slots:
  void sha256KnownVectors();
  void sha256Streaming();
  void atomicWriteReplacesWholeFile();
  void errorsNameTheirPlace();
  void cancelTokenIsShared();
  void progressReportsEta();
};

void CommonTest::sha256KnownVectors() {
  QCOMPARE(igpg::sha256Hex(std::string()),
           std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  QCOMPARE(igpg::sha256Hex(std::string("abc")),
           std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  QCOMPARE(igpg::sha256Hex(std::string("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
           std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

void CommonTest::sha256Streaming() {
  std::string data(100000, 'a');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 26);
  igpg::Sha256 h;
  for (size_t i = 0; i < data.size(); i += 777) h.update(data.data() + i, std::min<size_t>(777, data.size() - i));
  QCOMPARE(h.hexDigest(), igpg::sha256Hex(data));
}

void CommonTest::atomicWriteReplacesWholeFile() {
  igpg_test::ScratchDir dir;
  const std::string path = dir.file("sub/out.bin");
  igpg::writeFileAtomic(path, std::string("first version"));
  igpg::writeFileAtomic(path, std::string("second"));
  QCOMPARE(igpg::readFileText(path), std::string("second"));
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.file("sub"))) {
    (void)e;
    ++entries;
  }
  QCOMPARE(entries, 1);  // no temporary file left behind
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::readFileBytes(dir.file("missing")));
}

void CommonTest::errorsNameTheirPlace() {
  try {
    igpg::fail(igpg::ErrorKind::Format, "tensor conv1.weight", "bad shape");
    QFAIL("no throw");
  } catch (const igpg::Error& e) {
    QCOMPARE(std::string(e.what()), std::string("tensor conv1.weight: bad shape"));
    try {
      igpg::rethrowWithContext(e, "model.safetensors");
    } catch (const igpg::Error& outer) {
      QCOMPARE(std::string(outer.what()), std::string("model.safetensors: tensor conv1.weight: bad shape"));
      QVERIFY(outer.kind() == igpg::ErrorKind::Format);
    }
  }
}

void CommonTest::cancelTokenIsShared() {
  igpg::CancelToken a;
  igpg::CancelToken b = a;
  QVERIFY(!b.cancelled());
  a.cancel();
  QVERIFY(b.cancelled());
  QVERIFY_THROWS_EXCEPTION(igpg::Error, b.throwIfCancelled("here"));
}

void CommonTest::progressReportsEta() {
  std::vector<igpg::ProgressEvent> events;
  igpg::JobControl job;
  job.progress = [&](const igpg::ProgressEvent& e) { events.push_back(e); };
  igpg::ProgressReporter r(job, "work", 10, 0.0);
  r.update(0);
  r.update(5, {{"loss", 0.5}});
  r.finish();
  QCOMPARE(int(events.size()), 3);
  QCOMPARE(events[1].done, int64_t(5));
  QVERIFY(events[1].etaSeconds >= 0);
  QCOMPARE(events[1].metrics[0].first, std::string("loss"));
  QVERIFY(events[2].finished);
  QCOMPARE(events[2].done, int64_t(10));
}

IGPG_TEST_MAIN(CommonTest)
#include "test_common.moc"
