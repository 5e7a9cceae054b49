// The Analyze page's figures from catalogue records: which numbers go in (the pairing of
// samples with pretrained models, the fine-tuning rows of a CSV or of runs) and that the
// figures hold exactly them.
#include "igpg_test.h"
#include "test_util.h"

#include "common/error.h"
#include "evaluation/catalogue_figures.h"
#include "evaluation/statistics.h"

#include <cmath>

namespace {

using igpg::ErrorKind;

igpg::ModelRecord model(const std::string& arch, const std::string& dataset, double top1,
                        const std::string& source = "zoo build") {
  igpg::ModelRecord m;
  m.architecture = arch;
  m.dataset = dataset;
  m.top1 = top1;
  m.source = source;
  return m;
}

igpg::SampleRecord sample(const std::string& arch, const std::string& dataset, double top1) {
  igpg::SampleRecord s;
  s.architecture = arch;
  s.dataset = dataset;
  s.top1 = top1;
  return s;
}

const igpg::PlotMetric* metric(const igpg::PlotSpec& spec, const std::string& name) {
  for (const auto& m : spec.metrics)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace

class CatalogueFiguresTest : public QObject {
  Q_OBJECT
 private slots:
  void codebookUsageOfATokenizerRun();
  void runWithoutCodebookIsRefused();
  void pairsAverageModelsAndSamplesOfOnePair();
  void scatterHoldsOnePointPerPair();
  void accuracyHistogramCountsBothSides();
  void fineTuningRowsFromCsv();
  void badCsvNamesTheLine();
  void fineTuningFigureAveragesSeeds();
  void missingEpochIsAMismatch();
  void fineTuningRowsOfRuns();
};

void CatalogueFiguresTest::codebookUsageOfATokenizerRun() {
  igpg::RunRecord run;
  run.id = 7;
  run.kind = "tokenizer";
  run.summary = {{"codebook", {{"usage", {6, 0, 2, 0}}, {"perplexity", 1.75}, {"dead_codes", 2}, {"tokens", 8}}}};
  const igpg::PlotSpec spec = igpg::codebookUsageOfRun(run);
  QCOMPARE(spec.series.size(), size_t(1));
  QVERIFY(spec.series[0].y == (std::vector<double>{0.75, 0, 0.25, 0}));
  QCOMPARE(metric(spec, "dead_codes")->value, 2.0);
  QVERIFY(std::fabs(metric(spec, "perplexity")->value - igpg::stats::perplexity({6, 0, 2, 0})) < 1e-12);
  QVERIFY(spec.title.find("run 7") != std::string::npos);
}

void CatalogueFiguresTest::runWithoutCodebookIsRefused() {
  igpg::RunRecord run;
  run.id = 3;
  run.summary = {{"final_loss", 0.5}};
  const auto e = igpg_test::thrownBy<igpg::Error>([&] { igpg::codebookUsageOfRun(run); });
  QVERIFY(e.kind() == ErrorKind::NotFound);
  QCOMPARE(e.where(), std::string("run 3"));
  run.summary = {{"codebook", {{"usage", nlohmann::json::array()}}}};
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::codebookUsageOfRun(run));
}

void CatalogueFiguresTest::pairsAverageModelsAndSamplesOfOnePair() {
  const std::vector<igpg::ModelRecord> models = {
      model("cnn", "digits", 0.80), model("cnn", "digits", 0.90),
      model("cnn", "digits", 0.10, "generated"),  // a saved sample is not a pretrained model
      model("cnn", "digits", NAN),                // not evaluated: left out
      model("mlp", "digits", 0.70),               // no samples: no pair
      model("cnn", "fashion-mnist", 0.60)};
  const std::vector<igpg::SampleRecord> samples = {sample("cnn", "digits", 0.70), sample("cnn", "digits", 0.76),
                                                   sample("cnn", "digits", NAN), sample("cnn", "fashion-mnist", 0.5),
                                                   sample("vit", "digits", 0.4)};  // no models: no pair
  const auto pairs = igpg::pairAccuracies(models, samples);
  QCOMPARE(pairs.size(), size_t(2));
  QCOMPARE(pairs[0].architecture, std::string("cnn"));
  QCOMPARE(pairs[0].dataset, std::string("digits"));
  QVERIFY(std::fabs(pairs[0].pretrained - 0.85) < 1e-12);
  QVERIFY(std::fabs(pairs[0].generated - 0.73) < 1e-12);
  QCOMPARE(pairs[0].models, int64_t(2));
  QCOMPARE(pairs[0].samples, int64_t(2));
  QCOMPARE(pairs[1].dataset, std::string("fashion-mnist"));
  QCOMPARE(pairs[1].generated, 0.5);
}

void CatalogueFiguresTest::scatterHoldsOnePointPerPair() {
  const std::vector<igpg::AccuracyPair> pairs = {
      {"cnn", "digits", 0.9, 0.85, 4, 2}, {"mlp", "digits", 0.8, 0.78, 3, 1}, {"cnn", "fashion", 0.7, 0.6, 2, 5}};
  const igpg::PlotSpec spec = igpg::pairedAccuracyScatter(pairs);
  QVERIFY(spec.series[0].x == (std::vector<double>{0.9, 0.8, 0.7}));
  QVERIFY(spec.series[0].y == (std::vector<double>{0.85, 0.78, 0.6}));
  QCOMPARE(spec.series[0].pointLabels[2], std::string("cnn / fashion (2 pretrained, 5 generated)"));
  QVERIFY(std::fabs(metric(spec, "pearson_r")->value - igpg::stats::pearson({0.9, 0.8, 0.7}, {0.85, 0.78, 0.6})) <
          1e-12);
  QCOMPARE(spec.lines.size(), size_t(2));  // y = x and the least-squares line
}

void CatalogueFiguresTest::accuracyHistogramCountsBothSides() {
  const std::vector<igpg::ModelRecord> models = {model("cnn", "digits", 0.80), model("cnn", "digits", 0.90),
                                                 model("cnn", "digits", 0.50, "generated"),
                                                 model("cnn", "digits", NAN)};
  const std::vector<igpg::SampleRecord> samples = {sample("cnn", "digits", 0.85), sample("cnn", "digits", NAN)};
  const igpg::PlotSpec spec = igpg::accuracyHistogram("acc", models, samples);
  QCOMPARE(spec.series.size(), size_t(2));
  QCOMPARE(spec.series[0].name, std::string("pretrained (2)"));
  QCOMPARE(spec.series[1].name, std::string("generated (1)"));
  double pretrained = 0, generated = 0;
  for (double c : spec.series[0].y) pretrained += c;
  for (double c : spec.series[1].y) generated += c;
  QCOMPARE(pretrained, 2.0);  // counts, not densities
  QCOMPARE(generated, 1.0);
  QVERIFY(spec.series[0].x.front() > 79 && spec.series[0].x.back() < 91);  // in percent
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::accuracyHistogram("acc", {model("a", "b", NAN)}, {}));
}

void CatalogueFiguresTest::fineTuningRowsFromCsv() {
  const std::string csv =
      "# fine-tuning on digits\n"
      "epoch,value,method,seed,notes\n"
      "1,0.5,generated,0,x\n"
      "2,0.75,\"generated, top-k\",1,\"a, b\"\r\n"
      "\n"
      "1,0.25,scratch,0,\n";
  const auto rows = igpg::fineTuningRowsFromCsv(csv, "ft.csv");
  QCOMPARE(rows.size(), size_t(3));
  QCOMPARE(rows[1].method, std::string("generated, top-k"));
  QCOMPARE(rows[1].curve, int64_t(1));
  QCOMPARE(rows[1].epoch, 2.0);
  QCOMPARE(rows[1].value, 0.75);
  QCOMPARE(rows[2].method, std::string("scratch"));
}

void CatalogueFiguresTest::badCsvNamesTheLine() {
  auto e = igpg_test::thrownBy<igpg::Error>(
      [] { igpg::fineTuningRowsFromCsv("method,seed,epoch,value\ngenerated,0,1,high\n", "ft.csv"); });
  QVERIFY(e.kind() == ErrorKind::Format);
  QCOMPARE(e.where(), std::string("ft.csv:2 value"));
  e = igpg_test::thrownBy<igpg::Error>([] { igpg::fineTuningRowsFromCsv("method,seed,accuracy\n", "ft.csv"); });
  QVERIFY(std::string(e.what()).find("'epoch'") != std::string::npos);
  e = igpg_test::thrownBy<igpg::Error>([] { igpg::fineTuningRowsFromCsv("method,seed,epoch,value\nx,0\n", "f"); });
  QCOMPARE(e.where(), std::string("f:2"));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::fineTuningRowsFromCsv("# nothing\n", "f"));
}

void CatalogueFiguresTest::fineTuningFigureAveragesSeeds() {
  const std::vector<igpg::FineTuningRow> rows = {
      {"generated", 0, 1, 0.80}, {"generated", 1, 1, 0.84}, {"generated", 0, 2, 0.90}, {"generated", 1, 2, 0.92},
      {"scratch", 0, 1, 0.30},   {"scratch", 0, 2, 0.60}};
  const igpg::PlotSpec spec = igpg::fineTuningFigure("ft", "accuracy", rows);
  QCOMPARE(spec.series.size(), size_t(2));
  QCOMPARE(spec.series[0].name, std::string("generated"));
  QVERIFY(spec.series[0].x == (std::vector<double>{1, 2}));
  QVERIFY(std::fabs(spec.series[0].y[0] - 0.82) < 1e-12);
  QVERIFY(std::fabs(spec.series[0].yError[1] - igpg::stats::standardDeviation({0.90, 0.92})) < 1e-12);
  QVERIFY(spec.series[1].y == (std::vector<double>{0.30, 0.60}));
  QCOMPARE(spec.yLabel, std::string("accuracy"));
}

void CatalogueFiguresTest::missingEpochIsAMismatch() {
  const std::vector<igpg::FineTuningRow> rows = {{"generated", 0, 1, 0.8}, {"generated", 0, 2, 0.9},
                                                 {"scratch", 4, 1, 0.3}};
  const auto e = igpg_test::thrownBy<igpg::Error>([&] { igpg::fineTuningFigure("ft", "acc", rows); });
  QVERIFY(e.kind() == ErrorKind::Mismatch);
  QCOMPARE(e.where(), std::string("method 'scratch' curve 4"));
  QVERIFY(std::string(e.what()).find("epoch 2 ") != std::string::npos);
}

void CatalogueFiguresTest::fineTuningRowsOfRuns() {
  igpg::RunRecord run;
  run.id = 12;
  run.kind = "finetune";
  run.config = {{"method", "generated"}, {"seed", 3}};
  const std::vector<igpg::MetricPoint> metrics = {{1, "test_top1", 0.8}, {2, "test_top1", 0.9}, {1, "loss", 0.7}};
  const auto rows = igpg::fineTuningRowsOfRun(run, metrics, "test_top1");
  QCOMPARE(rows.size(), size_t(2));
  QCOMPARE(rows[1].method, std::string("generated"));
  QCOMPARE(rows[1].curve, int64_t(12));  // one run, one curve, whatever its config's seed
  QCOMPARE(rows[1].epoch, 2.0);
  QCOMPARE(rows[1].value, 0.9);
  run.config = {{"seed", 3}};
  const auto e = igpg_test::thrownBy<igpg::Error>([&] { igpg::fineTuningRowsOfRun(run, metrics, "test_top1"); });
  QVERIFY(e.kind() == ErrorKind::Config);
  QCOMPARE(e.where(), std::string("run 12"));
}

IGPG_TEST_MAIN(CatalogueFiguresTest)
#include "test_catalogue_figures.moc"
