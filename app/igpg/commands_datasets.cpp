// igpg datasets list | show | add: the built-in datasets, imported IDX/CSV datasets kept
// in the catalogue, and derived tasks named by the syntax of core/data/task.h. The work
// is core/data's; this file turns options into its option structs and prints.
#include "cli.h"

#include "data/dataset.h"
#include "data/dataset_sources.h"
#include "data/task.h"

#include <chrono>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "catalogue/catalogue.h"
#include "jobs/workspace.h"

namespace igpg::cli {

namespace {

const char* const kNamingHelp =
    "Datasets and tasks are named BASE or BASE[MODIFIER;MODIFIER;...]:\n"
    "  BASE              fashion-mnist, digits, or a dataset imported with 'igpg datasets add'\n"
    "  classes=C1,C2,... keep these classes, relabelled 0,1,... in the listed order\n"
    "  rot90|rot180|rot270  turn the images counter-clockwise\n"
    "  hflip             mirror the images left-right\n"
    "  invert            pixel -> 1 - pixel\n"
    "Transforms apply left to right. Spaces are ignored and every spelling of a task maps\n"
    "to one canonical name (and one content hash), e.g.\n"
    "  'digits[ rot90; classes=0,1,2 ]' is digits[classes=0,1,2;rot90]\n"
    "  'fashion-mnist[classes=0,2,4,6,8;hflip;hflip]' is fashion-mnist[classes=0,2,4,6,8]\n"
    "Every dataset has train, validation (a seeded stratified 10% of train) and test splits;\n"
    "images are CxHxW float32, normalized per channel.";


std::string shortHash(const Context& ctx, const std::string& hash) { return ctx.json ? hash : hash.substr(0, 12); }

std::string formatStatistics(const std::vector<double>& values) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(4);
  for (size_t i = 0; i < values.size(); ++i) s << (i ? ", " : "") << values[i];
  return s.str();
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, ',')) parts.push_back(part);
  return parts;
}

int runList(Context& ctx, const ParsedArgs&) {
  Table table({"name", "kind", "classes", "shape", "train", "test", "hash"});
  for (const std::string& name : builtinDatasetNames()) {
    const DatasetSummary s = summarizeDataset(*openDataset(name));
    table.add({s.name, s.kind, s.numClasses, s.shape.toString(), s.trainCount + s.validationCount, s.testCount,
               shortHash(ctx, s.contentHash)});
  }
  for (const DatasetRecord& r : Catalogue::open(ctx.cataloguePath, Catalogue::ReadOnly)->listDatasets()) {
    if (isBuiltinDataset(r.name) || r.kind == "derived") continue;
    table.add({r.name, r.kind, r.numClasses, ImageShape{r.channels, r.height, r.width}.toString(), r.trainCount,
               r.testCount, shortHash(ctx, r.contentHash)});
  }
  table.print(ctx);
  return 0;
}

int runShow(Context& ctx, const ParsedArgs& args) {
  const std::string asWritten = args.positionals().at(0);
  const TaskSpec spec = parseTaskName(asWritten);
  const auto start = std::chrono::steady_clock::now();
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  const std::shared_ptr<const Dataset> ds = openDataset(*catalogue, asWritten);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const int64_t k = ds->numClasses();
  const torch::Tensor counts[3] = {ds->train().classCounts(k), ds->validation().classCounts(k),
                                   ds->test().classCounts(k)};
  nlohmann::json perClass = nlohmann::json::array();
  Table table({"class", "name", "base class", "train", "validation", "test"});
  for (int64_t c = 0; c < k; ++c) {
    const nlohmann::json baseClass = spec.classes.empty() ? nlohmann::json(c) : nlohmann::json(spec.classes[size_t(c)]);
    table.add({c, ds->classNames()[size_t(c)], baseClass, counts[0][c].item<int64_t>(), counts[1][c].item<int64_t>(),
               counts[2][c].item<int64_t>()});
  }
  nlohmann::json info = {{"name", ds->name()},
                         {"as_written", asWritten},
                         {"base", spec.base},
                         {"classes", spec.classes},
                         {"transforms", spec.transformNames()},
                         {"kind", ds->kind()},
                         {"num_classes", k},
                         {"shape", ds->shape().toString()},
                         {"train", ds->train().size()},
                         {"validation", ds->validation().size()},
                         {"test", ds->test().size()},
                         {"normalization", {{"mean", ds->normalization().mean}, {"std", ds->normalization().std}}},
                         {"content_hash", ds->contentHash()},
                         {"load_seconds", seconds},
                         {"per_class", table.toJson()},
                         {"definition", ds->info().definition}};
  if (ctx.json) {
    printJson(ctx, info);
    return 0;
  }
  std::ostream& out = *ctx.out;
  out << "name           " << ds->name() << "\n";
  if (spec.derived()) {
    std::string classes;
    for (int64_t c : spec.classes) classes += (classes.empty() ? "" : ",") + std::to_string(c);
    std::string transforms;
    for (const auto& t : spec.transformNames()) transforms += (transforms.empty() ? "" : ", ") + t;
    out << "base           " << spec.base << "\n"
        << "classes        " << (classes.empty() ? "all" : classes + " (relabelled 0.." + std::to_string(k - 1) + ")")
        << "\n"
        << "transforms     " << (transforms.empty() ? "none" : transforms) << "\n";
  }
  out << "kind           " << ds->kind() << "\n"
      << "shape          " << ds->shape().toString() << " float32\n"
      << "classes        " << k << "\n"
      << "splits         train " << ds->train().size() << ", validation " << ds->validation().size() << ", test "
      << ds->test().size() << "\n"
      << "normalization  mean " << formatStatistics(ds->normalization().mean) << ", std "
      << formatStatistics(ds->normalization().std) << "\n"
      << "content hash   " << ds->contentHash() << "\n"
      << "loaded in      " << std::fixed << std::setprecision(3) << seconds << " s\n\n";
  table.print(ctx);
  return 0;
}

int runAdd(Context& ctx, const ParsedArgs& args) {
  const std::string name = args.positionals().at(0);
  const bool idx = args.has("images") || args.has("labels");
  const bool csv = args.has("csv");
  if (idx == csv) usageError("datasets add", "give either --images FILE --labels FILE (IDX) or --csv FILE");
  for (const char* option : {"test-images", "test-labels"})
    if (args.has(option) && !idx) usageError(std::string("--") + option, "goes with --images/--labels");
  for (const char* option : {"test-csv", "label-column", "header", "pixel-max", "shape"})
    if (args.has(option) && !csv) usageError(std::string("--") + option, "goes with --csv");
  const bool testFiles = args.has("test-images") || args.has("test-labels") || args.has("test-csv");
  if (testFiles && args.has("test-fraction"))
    usageError("--test-fraction", "the test split comes from the test files already");

  DatasetImportOptions common;
  common.testFraction = args.doubleValue("test-fraction", kDefaultTestFraction);
  if (!(common.testFraction > 0 && common.testFraction < 1)) usageError("--test-fraction", "must be between 0 and 1");
  common.numClasses = args.intValue("num-classes", 0);
  if (common.numClasses < 0 || common.numClasses == 1) usageError("--num-classes", "must be at least 2");
  if (args.has("class-names")) common.classNames = splitList(args.value("class-names"));

  auto catalogue = Catalogue::open(ctx.cataloguePath);
  if (catalogue->findDataset(name) && !args.has("replace"))
    usageError("dataset '" + name + "'", "already exists; add --replace to import it again");

  DatasetSummary summary;
  if (idx) {
    IdxImportOptions options;
    static_cast<DatasetImportOptions&>(options) = common;
    options.trainImages = args.value("images");
    options.trainLabels = args.value("labels");
    options.testImages = args.valueOr("test-images", "");
    options.testLabels = args.valueOr("test-labels", "");
    summary = importIdxDataset(name, options);
  } else {
    CsvImportOptions options;
    static_cast<DatasetImportOptions&>(options) = common;
    options.trainCsv = args.value("csv");
    options.testCsv = args.valueOr("test-csv", "");
    options.csv.labelColumn = args.intValue("label-column", 0);
    options.csv.header = args.has("header");
    options.csv.pixelMax = args.intValue("pixel-max", 255);
    if (args.has("shape")) options.shape = parseImageShape(args.value("shape"), "--shape");
    summary = importCsvDataset(name, options);
  }

  catalogue->upsertDataset(datasetRecord(summary));
  Table table({"name", "kind", "classes", "shape", "train", "validation", "test", "hash"});
  table.add({summary.name, summary.kind, summary.numClasses, summary.shape.toString(), summary.trainCount,
             summary.validationCount, summary.testCount, shortHash(ctx, summary.contentHash)});
  table.print(ctx);
  if (!ctx.quiet && !ctx.json) *ctx.out << "saved to the catalogue " << ctx.cataloguePath << "\n";
  return 0;
}

const Registration listCommand{
    Command{"datasets list",
            "List the built-in and imported datasets",
            "Classes, image shape, train and test sizes (train includes the validation 10%) and content\n"
            "hash of each dataset. Derived tasks are not listed: any BASE[...] name opens one.\n\n" +
                std::string(kNamingHelp),
            {},
            {},
            runList}};

const Registration showCommand{
    Command{"datasets show",
            "Show a dataset or task, e.g. digits[classes=0,1,2;rot90] (also rot180|rot270|hflip|invert)",
            kNamingHelp,
            {},
            {{"NAME", "a dataset or task, e.g. digits or 'fashion-mnist[classes=0,2,4;rot90]'"}},
            runShow}};

const Registration addCommand{
    Command{"datasets add",
            "Import IDX or CSV image files as a named dataset",
            "IDX: --images and --labels name an image file (unsigned bytes, count x rows x columns)\n"
            "and its label file, gzip-compressed or not, as MNIST ships them.\n"
            "CSV: one image per line, comma-separated: a label cell and the pixels in channel, row,\n"
            "column order. The label is the first column unless --label-column says otherwise\n"
            "(0-based; -1 is the last). Pixels are integers 0..--pixel-max (default 255). The image\n"
            "shape is inferred for SxS (one channel) or 3xSxS pixels per line; --shape sets it.\n"
            "The test split is the --test-* files, or else a seeded stratified --test-fraction of the\n"
            "train files (default 0.2). Labels must be 0..K-1 with every class present in train.\n"
            "The files are read and checked completely; their content hash is recorded so that a\n"
            "later change to them is detected.",
            {{"images", "FILE", "IDX images (train)"},
             {"labels", "FILE", "IDX labels (train)"},
             {"test-images", "FILE", "IDX images (test)"},
             {"test-labels", "FILE", "IDX labels (test)"},
             {"csv", "FILE", "CSV images (train)"},
             {"test-csv", "FILE", "CSV images (test)"},
             {"test-fraction", "F", "share of train held out as test when no test files are given (default 0.2)"},
             {"label-column", "N", "CSV: 0-based label column, negative counts from the end (default 0)"},
             {"header", "", "CSV: the first line names the columns"},
             {"pixel-max", "N", "CSV: the white level, at most 255 (default 255)"},
             {"shape", "CxHxW", "CSV: image shape, e.g. 1x28x28 (default inferred)"},
             {"num-classes", "K", "number of classes (default: largest label + 1)"},
             {"class-names", "A,B,...", "class names, comma-separated, one per class"},
             {"replace", "", "import again over an existing dataset of that name"}},
            {{"NAME", "the new dataset's name: letters, digits, '.', '_', '-'"}},
            runAdd}};

}  // namespace

}  // namespace igpg::cli
