#include "catalogue/catalogue.h"

#include "catalogue/sqlite.h"
#include "common/embedded.h"
#include "common/error.h"
#include "common/files.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>
#include <variant>

namespace igpg {

namespace {

constexpr int64_t kApplicationId = 1229410375;  // 'IGPG'; set by migration 0001
constexpr int kDefaultBusyTimeoutMs = 5000;
// Taking back the blobs of a failed batch must not make the user wait a second time on a
// catalogue that is already locked; those blobs are left to cleanupOrphanBlobs instead.
constexpr int kTakeBackTimeoutMs = 250;
const char* const kNow = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// zoo_db/migrations/NNNN_name.sql, numbered 1, 2, 3... without gaps.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = [] {
    std::vector<Migration> out;
    for (const auto& name : embeddedFilesUnder("migrations/")) {
      const std::string base = name.substr(std::strlen("migrations/"));
      if (base.size() < 6 || base[4] != '_' ||
          !std::all_of(base.begin(), base.begin() + 4, [](unsigned char c) { return std::isdigit(c); }))
        fail(ErrorKind::Internal, name, "migration files are named NNNN_name.sql");
      const int version = std::stoi(base.substr(0, 4));
      if (version != int(out.size()) + 1)
        fail(ErrorKind::Internal, name, "migration " + std::to_string(out.size() + 1) + " is missing");
      out.push_back({version, base, *embeddedFile(name)});
    }
    return out;
  }();
  return all;
}

int busyTimeoutFromEnvironment() {
  const char* env = std::getenv("IGPG_BUSY_TIMEOUT_MS");
  if (!env || !*env) return kDefaultBusyTimeoutMs;
  char* end = nullptr;
  const long ms = std::strtol(env, &end, 10);
  if (*end != '\0' || ms < 0 || ms > 24L * 3600 * 1000)
    fail(ErrorKind::Config, "IGPG_BUSY_TIMEOUT_MS", std::string("expected milliseconds, got '") + env + "'");
  return int(ms);
}

int64_t pragmaInt(sql::Database& db, const std::string& name) {
  sql::Statement s(db, "PRAGMA " + name);
  return s.step() ? s.int64(0) : 0;
}

nlohmann::json parseJson(const std::string& text, const std::string& where) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Catalogue, where, std::string("holds invalid JSON: ") + e.what());
  }
}

std::optional<int64_t> nonNegative(int64_t v) { return v < 0 ? std::nullopt : std::optional<int64_t>(v); }
std::optional<std::string> nonEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}
int64_t intOr(const sql::Statement& s, int column, int64_t fallback) {
  return s.isNull(column) ? fallback : s.int64(column);
}

void requireName(const std::string& name, const std::string& what) {
  if (name.empty()) fail(ErrorKind::Config, what, "the name is empty");
}

bool isRunStatus(const std::string& s) {
  return s == "running" || s == "finished" || s == "failed" || s == "cancelled";
}
void requireRunStatus(const std::string& status, bool terminal) {
  if (!isRunStatus(status) || (terminal && status == "running"))
    fail(ErrorKind::Config, "run status",
         "'" + status + "' is not one of " + (terminal ? "" : "running, ") + "finished, failed, cancelled");
}

// --- row readers: the column lists and the readers sit together so they cannot drift ---

const char* const kDatasetColumns =
    "id, name, kind, definition, num_classes, channels, height, width, train_count, test_count, content_hash, "
    "created_at FROM datasets";
DatasetRecord readDataset(const sql::Statement& s) {
  DatasetRecord d;
  d.id = s.int64(0);
  d.name = s.text(1);
  d.kind = s.text(2);
  d.definition = parseJson(s.text(3), "dataset " + d.name + ": definition");
  d.numClasses = s.int64(4);
  d.channels = s.int64(5);
  d.height = s.int64(6);
  d.width = s.int64(7);
  d.trainCount = s.int64(8);
  d.testCount = s.int64(9);
  d.contentHash = s.text(10);
  d.createdAt = s.text(11);
  return d;
}

const char* const kArchitectureColumns =
    "id, name, family, spec, description, num_params, created_at FROM architectures";
ArchitectureRecord readArchitecture(const sql::Statement& s) {
  ArchitectureRecord a;
  a.id = s.int64(0);
  a.name = s.text(1);
  a.family = s.text(2);
  a.spec = parseJson(s.text(3), "architecture " + a.name + ": spec");
  a.description = s.text(4);
  a.numParams = s.int64(5);
  a.createdAt = s.text(6);
  return a;
}

const char* const kModelColumns =
    "m.id, a.name, a.family, d.name, m.source, m.seed, m.epoch, m.top1, m.top5, m.loss, m.num_params, "
    "m.blob_sha256, m.created_at, m.metadata "
    "FROM models m JOIN architectures a ON a.id = m.architecture_id JOIN datasets d ON d.id = m.dataset_id";
ModelRecord readModel(const sql::Statement& s) {
  ModelRecord m;
  m.id = s.int64(0);
  m.architecture = s.text(1);
  m.family = s.text(2);
  m.dataset = s.text(3);
  m.source = s.text(4);
  m.seed = intOr(s, 5, -1);
  m.epoch = intOr(s, 6, -1);
  m.top1 = s.real(7);
  m.top5 = s.real(8);
  m.loss = s.real(9);
  m.numParams = s.int64(10);
  m.blobSha256 = s.text(11);
  m.createdAt = s.text(12);
  m.metadata = parseJson(s.text(13), "model " + std::to_string(m.id) + ": metadata");
  return m;
}

const char* const kRunColumns =
    "id, kind, name, config, status, checkpoint_path, parent_run_id, created_at, finished_at, summary FROM runs";
RunRecord readRun(const sql::Statement& s) {
  RunRecord r;
  r.id = s.int64(0);
  r.kind = s.text(1);
  r.name = s.text(2);
  r.config = parseJson(s.text(3), "run " + std::to_string(r.id) + ": config");
  r.status = s.text(4);
  r.checkpointPath = s.text(5);
  r.parentRunId = intOr(s, 6, 0);
  r.createdAt = s.text(7);
  r.finishedAt = s.text(8);
  r.summary = parseJson(s.text(9), "run " + std::to_string(r.id) + ": summary");
  return r;
}

const char* const kSampleColumns =
    "s.id, s.run_id, a.name, d.name, s.seed, s.sampling, s.conditioning, s.novelty, s.top1, s.top5, "
    "s.blob_sha256, s.model_id, s.created_at "
    "FROM samples s JOIN architectures a ON a.id = s.architecture_id JOIN datasets d ON d.id = s.dataset_id";
SampleRecord readSample(const sql::Statement& s) {
  SampleRecord r;
  r.id = s.int64(0);
  const std::string where = "sample " + std::to_string(r.id);
  r.runId = intOr(s, 1, 0);
  r.architecture = s.text(2);
  r.dataset = s.text(3);
  r.seed = intOr(s, 4, -1);
  r.sampling = parseJson(s.text(5), where + ": sampling");
  r.conditioning = parseJson(s.text(6), where + ": conditioning");
  r.novelty = parseJson(s.text(7), where + ": novelty");
  r.top1 = s.real(8);
  r.top5 = s.real(9);
  r.blobSha256 = s.text(10);
  r.modelId = intOr(s, 11, 0);
  r.createdAt = s.text(12);
  return r;
}

// --- the model table's filters ---

using SqlValue = std::variant<int64_t, double, std::string>;

void bindAll(sql::Statement& s, const std::vector<SqlValue>& values) {
  int i = 1;
  for (const auto& v : values) std::visit([&](const auto& x) { s.bind(i++, x); }, v);
}

// Runs a query and reads each row with `read`.
template <typename Read>
auto queryRows(sql::Database& db, const std::string& query, const std::vector<SqlValue>& values, Read read) {
  sql::Statement s(db, query);
  bindAll(s, values);
  std::vector<std::decay_t<decltype(read(s))>> out;
  while (s.step()) out.push_back(read(s));
  return out;
}

template <typename Read>
auto queryOne(sql::Database& db, const std::string& query, const std::vector<SqlValue>& values, Read read) {
  auto rows = queryRows(db, query + " LIMIT 1", values, read);
  return rows.empty() ? std::nullopt : std::make_optional(std::move(rows.front()));
}

std::string likePattern(const std::string& text) {
  std::string p = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return p + "%";
}

struct ModelQuery {
  std::string joins, where, order;
  std::vector<SqlValue> values;
};

// The filter's conditions and the order, joining only the tables they need, so that the
// page of ids comes from the indexes alone where possible.
ModelQuery modelQuery(const ModelFilter& f, bool ordered) {
  ModelQuery q;
  std::vector<std::string> conditions;
  bool needArchitecture = false, needDataset = false;
  auto add = [&](const std::string& condition, SqlValue value) {
    conditions.push_back(condition);
    q.values.push_back(std::move(value));
  };
  if (!f.family.empty()) add("a.family = ?", f.family), needArchitecture = true;
  if (!f.architecture.empty()) add("a.name = ?", f.architecture), needArchitecture = true;
  if (!f.dataset.empty()) add("d.name = ?", f.dataset), needDataset = true;
  if (!f.source.empty()) add("m.source = ?", f.source);
  if (!f.blobSha256.empty()) add("m.blob_sha256 = ?", f.blobSha256);
  if (f.minTop1) add("m.top1 >= ?", *f.minTop1);
  if (f.maxTop1) add("m.top1 <= ?", *f.maxTop1);
  if (!f.ids.empty()) add("m.id IN (SELECT value FROM json_each(?))", nlohmann::json(f.ids).dump());
  if (!f.search.empty()) {
    const std::string p = likePattern(f.search);
    conditions.push_back(
        "(a.name LIKE ? ESCAPE '\\' OR a.family LIKE ? ESCAPE '\\' OR d.name LIKE ? ESCAPE '\\' "
        "OR m.source LIKE ? ESCAPE '\\')");
    for (int i = 0; i < 4; ++i) q.values.push_back(p);
    needArchitecture = needDataset = true;
  }
  if (ordered) {
    // Sorting by a name walks the names' unique index and, for each, that name's models
    // in id order (models_architecture, models_dataset): no sort of the whole table.
    // Within a family, models sort by architecture name.
    static const std::map<std::string, std::vector<std::string>> columns = {
        {"id", {}},
        {"architecture", {"a.name"}},
        {"family", {"a.family", "a.name"}},
        {"dataset", {"d.name"}},
        {"source", {"m.source"}},
        {"seed", {"m.seed"}},
        {"epoch", {"m.epoch"}},
        {"top1", {"m.top1"}},
        {"top5", {"m.top5"}},
        {"loss", {"m.loss"}},
        {"num_params", {"m.num_params"}},
        {"numParams", {"m.num_params"}},
        {"created_at", {"m.created_at"}},
        {"createdAt", {"m.created_at"}},
    };
    auto it = columns.find(f.orderBy);
    if (it == columns.end())
      fail(ErrorKind::Usage, "order by",
           "unknown column '" + f.orderBy +
               "'; one of id, architecture, family, dataset, source, seed, epoch, top1, top5, loss, num_params, "
               "created_at");
    const std::string direction = f.descending ? " DESC" : " ASC";
    q.order = " ORDER BY ";
    for (const auto& key : it->second) {
      q.order += key + direction + ", ";
      needArchitecture = needArchitecture || key.rfind("a.", 0) == 0;
      needDataset = needDataset || key.rfind("d.", 0) == 0;
    }
    q.order += "m.id" + direction;
  }
  if (needArchitecture) q.joins += " JOIN architectures a ON a.id = m.architecture_id";
  if (needDataset) q.joins += " JOIN datasets d ON d.id = m.dataset_id";
  for (size_t i = 0; i < conditions.size(); ++i) q.where += (i ? " AND " : " WHERE ") + conditions[i];
  return q;
}

}  // namespace

// --- opening and migrations ---

Catalogue::Catalogue(std::unique_ptr<sql::Database> db, const std::string& blobDirectory)
    : db_(std::move(db)), blobs_(blobDirectory) {}

Catalogue::~Catalogue() = default;

const std::string& Catalogue::path() const { return db_->path(); }
int Catalogue::latestSchemaVersion() { return int(migrations().size()); }
void Catalogue::setBusyTimeout(int milliseconds) { db_->setBusyTimeout(milliseconds); }

std::unique_ptr<Catalogue> Catalogue::open(const std::string& path, OpenMode mode) {
  if (path.empty()) fail(ErrorKind::Usage, "catalogue", "the catalogue path is empty");
  const int timeout = busyTimeoutFromEnvironment();
  const std::string dir = parentDirectory(path);
  if (mode == ReadOnly && !fileExists(path))
    fail(ErrorKind::NotFound, path, "no catalogue here (import models with 'igpg zoo import' to create one)");
  if (mode == ReadWrite && !dir.empty()) {
    try {
      ensureDirectory(dir);
    } catch (const Error& e) {
      fail(ErrorKind::Catalogue, path, "cannot create the catalogue: its folder " + e.message());
    }
  }
  auto db = std::make_unique<sql::Database>(path, mode == ReadOnly, timeout);
  std::unique_ptr<Catalogue> c(new Catalogue(std::move(db), (dir.empty() ? "." : dir) + "/blobs"));
  c->db_->exec("PRAGMA foreign_keys = ON");
  // Room for a bulk import's dirty pages and the zoo table's indexes; SQLite's default
  // (2 MiB) spills a 100,000-row transaction to disk many times over.
  c->db_->exec("PRAGMA cache_size = -32768");
  if (mode == ReadWrite) {
    // WAL: readers (the studio's table, a second CLI) never block the writer or each
    // other. synchronous=NORMAL is crash-safe in WAL mode; a power cut may only lose
    // the last transactions, never corrupt the file.
    c->db_->exec("PRAGMA journal_mode = WAL");
    c->db_->exec("PRAGMA synchronous = NORMAL");
  }
  c->migrate();
  return c;
}

void Catalogue::migrate() {
  const int latest = latestSchemaVersion();
  // Refuses files that are not ours or are too new; returns the schema version.
  auto check = [&]() -> int {
    const int64_t appId = pragmaInt(*db_, "application_id");
    const int64_t version = pragmaInt(*db_, "user_version");
    if (appId != 0 && appId != kApplicationId)
      fail(ErrorKind::Catalogue, path(), "not an IGPG catalogue (an SQLite database of another application)");
    if (appId == 0 && version == 0) {
      sql::Statement tables(*db_, "SELECT COUNT(*) FROM sqlite_master");
      if (tables.step() && tables.int64(0) > 0)
        fail(ErrorKind::Catalogue, path(), "not an IGPG catalogue (an SQLite database with other tables)");
    }
    if (version > latest)
      fail(ErrorKind::Catalogue, path(),
           "the catalogue has schema version " + std::to_string(version) + ", newer than this igpg knows (" +
               std::to_string(latest) + "); use a newer igpg");
    return int(version);
  };
  int version = check();
  if (version < latest && db_->readOnly())
    fail(ErrorKind::Catalogue, path(),
         "the catalogue has schema version " + std::to_string(version) + " and this igpg needs " +
             std::to_string(latest) + "; open it once read-write to upgrade it");
  while (version < latest) {
    // Under the write lock, re-read the version: another process may have migrated meanwhile.
    sql::Transaction tx(*db_);
    version = check();
    if (version < latest) {
      const Migration& m = migrations()[size_t(version)];
      try {
        db_->exec(m.sql);
      } catch (const Error& e) {
        fail(ErrorKind::Catalogue, path(), "schema migration " + m.name + " failed: " + e.message());
      }
      db_->exec("PRAGMA user_version = " + std::to_string(m.version));
      version = m.version;
    }
    tx.commit();
  }
  schemaVersion_ = version;
}

// --- transactions ---

Catalogue::WriteTransaction::WriteTransaction(Catalogue& catalogue)
    : catalogue_(catalogue), tx_(std::make_unique<sql::Transaction>(*catalogue.db_)) {}

Catalogue::WriteTransaction::~WriteTransaction() {
  tx_.reset();
  catalogue_.releasePendingBlobs();
}

void Catalogue::WriteTransaction::commit() {
  tx_->commit();
  catalogue_.releasePendingBlobs();
}

void Catalogue::releasePendingBlobs() noexcept {
  if (db_->inTransaction() || pendingBlobDeletes_.empty()) return;
  releaseBlobs(std::exchange(pendingBlobDeletes_, {}), db_->busyTimeoutMs());
}

void Catalogue::releaseBlobs(const std::vector<std::string>& sha256s, int lockTimeoutMs) noexcept {
  if (sha256s.empty()) return;
  if (db_->inTransaction()) {
    pendingBlobDeletes_.insert(pendingBlobDeletes_.end(), sha256s.begin(), sha256s.end());
    return;
  }
  const int saved = db_->busyTimeoutMs();
  db_->setBusyTimeout(std::min(saved, lockTimeoutMs));
  try {
    sql::Transaction tx(*db_);
    sql::Statement used(*db_,
                        "SELECT EXISTS(SELECT 1 FROM models WHERE blob_sha256 = ?1) "
                        "OR EXISTS(SELECT 1 FROM samples WHERE blob_sha256 = ?1)");
    for (const auto& sha : std::set<std::string>(sha256s.begin(), sha256s.end())) {
      used.bind(1, sha);
      const bool referenced = used.step() && used.int64(0) != 0;
      used.reset();
      if (!referenced) blobs_.remove(sha);
    }
    tx.commit();
  } catch (const std::exception&) {
    // The rows are already right; a blob that could not be deleted now is an orphan file
    // that cleanupOrphanBlobs removes later.
  }
  db_->setBusyTimeout(saved);
}

Catalogue::BlobBatch::~BlobBatch() { catalogue_.releaseBlobs(created_, kTakeBackTimeoutMs); }

std::string Catalogue::BlobBatch::store(const StateDict& weights) {
  catalogue_.db_->requireWritable();
  const auto stored = catalogue_.blobs_.store(weights);
  if (stored.created) created_.push_back(stored.sha256);
  return stored.sha256;
}

void Catalogue::ensureBlob(const std::string& sha256, const std::function<StateDict()>& reload) {
  // Called under the write lock, which every deleter holds too: a blob present now stays
  // until this transaction ends.
  if (blobs_.exists(sha256)) return;
  if (!reload)
    fail(ErrorKind::Catalogue, blobs_.pathFor(sha256),
         "the weight blob was deleted before its row was written (removed or cleaned meanwhile); add it again");
  const auto stored = blobs_.store(reload());
  if (stored.sha256 != sha256)
    fail(ErrorKind::Mismatch, blobs_.pathFor(sha256), "the weights changed since their blob was first stored");
}

// --- datasets and architectures ---

int64_t Catalogue::upsertDataset(const DatasetRecord& d) {
  requireName(d.name, "dataset");
  sql::Transaction tx(*db_);
  sql::Statement s(*db_,
                   "INSERT INTO datasets(name, kind, definition, num_classes, channels, height, width, train_count, "
                   "test_count, content_hash) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, definition = excluded.definition, "
                   "num_classes = excluded.num_classes, channels = excluded.channels, height = excluded.height, "
                   "width = excluded.width, train_count = excluded.train_count, test_count = excluded.test_count, "
                   "content_hash = excluded.content_hash");
  s.bind(1, d.name).bind(2, d.kind).bind(3, d.definition.dump()).bind(4, d.numClasses).bind(5, d.channels);
  s.bind(6, d.height).bind(7, d.width).bind(8, d.trainCount).bind(9, d.testCount).bind(10, d.contentHash);
  s.run();
  const int64_t id = idByName("datasets", d.name, "dataset " + d.name);
  tx.commit();
  return id;
}

std::optional<DatasetRecord> Catalogue::findDataset(const std::string& name) {
  return queryOne(*db_, std::string("SELECT ") + kDatasetColumns + " WHERE name = ?", {name}, readDataset);
}

std::vector<DatasetRecord> Catalogue::listDatasets() {
  return queryRows(*db_, std::string("SELECT ") + kDatasetColumns + " ORDER BY name", {}, readDataset);
}

int64_t Catalogue::upsertArchitecture(const ArchitectureRecord& a) {
  requireName(a.name, "architecture");
  sql::Transaction tx(*db_);
  sql::Statement s(*db_,
                   "INSERT INTO architectures(name, family, spec, description, num_params) VALUES(?, ?, ?, ?, ?) "
                   "ON CONFLICT(name) DO UPDATE SET family = excluded.family, spec = excluded.spec, "
                   "description = excluded.description, num_params = excluded.num_params");
  s.bind(1, a.name).bind(2, a.family).bind(3, a.spec.dump()).bind(4, a.description).bind(5, a.numParams);
  s.run();
  const int64_t id = idByName("architectures", a.name, "architecture " + a.name);
  tx.commit();
  return id;
}

std::optional<ArchitectureRecord> Catalogue::findArchitecture(const std::string& name) {
  return queryOne(*db_, std::string("SELECT ") + kArchitectureColumns + " WHERE name = ?", {name}, readArchitecture);
}

std::vector<ArchitectureRecord> Catalogue::listArchitectures() {
  return queryRows(*db_, std::string("SELECT ") + kArchitectureColumns + " ORDER BY name", {}, readArchitecture);
}

int64_t Catalogue::idByName(const std::string& table, const std::string& name, const std::string& owner) {
  const auto id = queryOne(*db_, "SELECT id FROM " + table + " WHERE name = ?", {name},
                           [](const sql::Statement& s) { return s.int64(0); });
  if (!id) {
    const std::string noun = table.substr(0, table.size() - 1);  // "datasets" -> "dataset"
    fail(ErrorKind::NotFound, owner, noun + " '" + name + "' is not in the catalogue");
  }
  return *id;
}

// --- models ---

int64_t Catalogue::addModel(const ModelRecord& model, const StateDict& weights) {
  return addModels({{model, weights}}).front();
}

std::vector<int64_t> Catalogue::addModels(const std::vector<ModelWeights>& batch) {
  BlobBatch blobs(*this);
  std::vector<ModelRecord> records;
  records.reserve(batch.size());
  for (const auto& [record, weights] : batch) {
    records.push_back(record);
    records.back().blobSha256 = blobs.store(weights);
    if (records.back().numParams == 0) records.back().numParams = weights.numel();
  }
  auto ids = addModelRecords(records, [&](size_t i) { return batch[i].weights; });
  blobs.keep();
  return ids;
}

std::vector<int64_t> Catalogue::addModelRecords(const std::vector<ModelRecord>& records,
                                                const std::function<StateDict(size_t)>& reload) {
  sql::Transaction tx(*db_);
  sql::Statement insert(*db_, std::string("INSERT INTO models(architecture_id, dataset_id, source, seed, epoch, top1, "
                                          "top5, loss, num_params, blob_sha256, created_at, metadata) "
                                          "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, ") +
                                  kNow + "), ?)");
  std::map<std::string, int64_t> architectures, datasets;
  std::set<std::string> blobsPresent;  // checked once per call: under the lock they stay
  std::vector<int64_t> ids;
  ids.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const ModelRecord& r = records[i];
    auto owner = [&] {
      return "model " + std::to_string(i + 1) + " of " + std::to_string(records.size()) + " (" + r.architecture +
             " on " + r.dataset + ")";
    };
    auto a = architectures.find(r.architecture);
    if (a == architectures.end())
      a = architectures.emplace(r.architecture, idByName("architectures", r.architecture, owner())).first;
    auto d = datasets.find(r.dataset);
    if (d == datasets.end()) d = datasets.emplace(r.dataset, idByName("datasets", r.dataset, owner())).first;
    if (!blobsPresent.count(r.blobSha256)) {
      if (!BlobStore::isSha256(r.blobSha256)) fail(ErrorKind::Config, owner(), "blobSha256 is not a SHA-256");
      ensureBlob(r.blobSha256, reload ? std::function<StateDict()>([&] { return reload(i); }) : nullptr);
      blobsPresent.insert(r.blobSha256);
    }
    insert.bind(1, a->second).bind(2, d->second).bind(3, r.source).bind(4, nonNegative(r.seed));
    insert.bind(5, nonNegative(r.epoch)).bind(6, r.top1).bind(7, r.top5).bind(8, r.loss).bind(9, r.numParams);
    insert.bind(10, r.blobSha256).bind(11, nonEmpty(r.createdAt)).bind(12, r.metadata.dump());
    insert.run();
    insert.reset();
    ids.push_back(db_->lastInsertId());
  }
  tx.commit();
  return ids;
}

std::optional<ModelRecord> Catalogue::model(int64_t id) {
  return queryOne(*db_, std::string("SELECT ") + kModelColumns + " WHERE m.id = ?", {id}, readModel);
}

std::vector<ModelRecord> Catalogue::listModels(const ModelFilter& filter) {
  // Two steps: the page's ids, from the indexes alone where possible (skipping `offset`
  // rows then costs index steps, not joins and wide rows), then those rows in full.
  ModelQuery q = modelQuery(filter, true);
  sql::Statement page(*db_, "SELECT m.id FROM models m" + q.joins + q.where + q.order + " LIMIT ? OFFSET ?");
  q.values.push_back(filter.limit < 0 ? int64_t(-1) : filter.limit);
  q.values.push_back(std::max<int64_t>(0, filter.offset));
  bindAll(page, q.values);
  std::vector<int64_t> ids;
  while (page.step()) ids.push_back(page.int64(0));
  if (ids.empty()) return {};

  sql::Statement rows(*db_, std::string("SELECT ") + kModelColumns + " WHERE m.id IN (SELECT value FROM json_each(?))");
  rows.bind(1, nlohmann::json(ids).dump());
  std::unordered_map<int64_t, ModelRecord> byId;
  byId.reserve(ids.size());
  while (rows.step()) {
    ModelRecord m = readModel(rows);
    byId.emplace(m.id, std::move(m));
  }
  std::vector<ModelRecord> out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    auto it = byId.find(id);
    if (it != byId.end()) out.push_back(std::move(it->second));
  }
  return out;
}

void Catalogue::checkFilter(const ModelFilter& filter) { modelQuery(filter, true); }

int64_t Catalogue::countModels(const ModelFilter& filter) {
  const ModelQuery q = modelQuery(filter, false);
  sql::Statement s(*db_, "SELECT COUNT(*) FROM models m" + q.joins + q.where);
  bindAll(s, q.values);
  s.step();
  return s.int64(0);
}

StateDict Catalogue::loadWeights(const ModelRecord& model) {
  return blobs_.load(model.blobSha256, "model " + std::to_string(model.id));
}

void Catalogue::removeModel(int64_t id) {
  sql::Transaction tx(*db_);
  sql::Statement find(*db_, "SELECT blob_sha256 FROM models WHERE id = ?");
  find.bind(1, id);
  if (!find.step()) fail(ErrorKind::NotFound, "model " + std::to_string(id), "no such model in the catalogue");
  const std::string sha = find.text(0);
  sql::Statement remove(*db_, "DELETE FROM models WHERE id = ?");
  remove.bind(1, id).run();
  tx.commit();
  // The blob goes only after the row removal is committed: a crash in between leaves an
  // orphan file, never a row without its blob.
  releaseBlobs({sha}, db_->busyTimeoutMs());
}

// --- runs ---

int64_t Catalogue::createRun(const RunRecord& r) {
  if (r.kind.empty()) fail(ErrorKind::Config, "run", "the kind is empty");
  const std::string status = r.status.empty() ? "running" : r.status;
  requireRunStatus(status, false);
  if (r.parentRunId != 0 && !run(r.parentRunId))
    fail(ErrorKind::NotFound, "run " + std::to_string(r.parentRunId), "no such parent run");
  sql::Statement s(*db_, std::string("INSERT INTO runs(kind, name, config, status, checkpoint_path, parent_run_id, "
                                     "created_at, finished_at, summary) VALUES(?, ?, ?, ?, ?, ?, COALESCE(?, ") +
                             kNow + "), ?, ?)");
  s.bind(1, r.kind).bind(2, r.name).bind(3, r.config.dump()).bind(4, status).bind(5, r.checkpointPath);
  s.bind(6, r.parentRunId ? std::optional<int64_t>(r.parentRunId) : std::nullopt).bind(7, nonEmpty(r.createdAt));
  s.bind(8, nonEmpty(r.finishedAt)).bind(9, r.summary.dump());
  s.run();
  return db_->lastInsertId();
}

void Catalogue::updateRunStatus(int64_t id, const std::string& status) {
  requireRunStatus(status, false);
  sql::Statement s(*db_, std::string("UPDATE runs SET status = ?1, finished_at = CASE WHEN ?1 = 'running' THEN NULL "
                                     "ELSE COALESCE(finished_at, ") +
                             kNow + ") END WHERE id = ?2");
  s.bind(1, status).bind(2, id).run();
  if (db_->changes() == 0) fail(ErrorKind::NotFound, "run " + std::to_string(id), "no such run");
}

void Catalogue::setRunCheckpoint(int64_t id, const std::string& checkpointPath) {
  sql::Statement s(*db_, "UPDATE runs SET checkpoint_path = ? WHERE id = ?");
  s.bind(1, checkpointPath).bind(2, id).run();
  if (db_->changes() == 0) fail(ErrorKind::NotFound, "run " + std::to_string(id), "no such run");
}

void Catalogue::finishRun(int64_t id, const std::string& status, const nlohmann::json& summary) {
  requireRunStatus(status, true);
  sql::Statement s(*db_,
                   std::string("UPDATE runs SET status = ?, summary = ?, finished_at = ") + kNow + " WHERE id = ?");
  s.bind(1, status).bind(2, summary.dump()).bind(3, id).run();
  if (db_->changes() == 0) fail(ErrorKind::NotFound, "run " + std::to_string(id), "no such run");
}

std::optional<RunRecord> Catalogue::run(int64_t id) {
  return queryOne(*db_, std::string("SELECT ") + kRunColumns + " WHERE id = ?", {id}, readRun);
}

std::vector<RunRecord> Catalogue::listRuns(const std::string& kind) {
  if (kind.empty()) return queryRows(*db_, std::string("SELECT ") + kRunColumns + " ORDER BY id", {}, readRun);
  return queryRows(*db_, std::string("SELECT ") + kRunColumns + " WHERE kind = ? ORDER BY id", {kind}, readRun);
}

void Catalogue::addMetrics(int64_t runId, const std::vector<MetricPoint>& points) {
  sql::Transaction tx(*db_);
  if (!run(runId)) fail(ErrorKind::NotFound, "run " + std::to_string(runId), "no such run");
  sql::Statement s(*db_, "INSERT OR REPLACE INTO run_metrics(run_id, name, step, value) VALUES(?, ?, ?, ?)");
  for (const auto& p : points) {
    s.bind(1, runId).bind(2, p.name).bind(3, p.step).bind(4, p.value);
    s.run();
    s.reset();
  }
  tx.commit();
}

std::vector<MetricPoint> Catalogue::metrics(int64_t runId, const std::string& name) {
  auto read = [](const sql::Statement& s) { return MetricPoint{s.int64(0), s.text(1), s.real(2)}; };
  const std::string select = "SELECT step, name, value FROM run_metrics WHERE run_id = ?";
  if (name.empty()) return queryRows(*db_, select + " ORDER BY name, step", {runId}, read);
  return queryRows(*db_, select + " AND name = ? ORDER BY step", {runId, name}, read);
}

// --- samples ---

int64_t Catalogue::addSample(const SampleRecord& r, const StateDict& weights) {
  const std::string owner = "sample of " + r.architecture + " on " + r.dataset;
  BlobBatch blobs(*this);
  const std::string sha = blobs.store(weights);
  sql::Transaction tx(*db_);
  if (r.runId != 0 && !run(r.runId)) fail(ErrorKind::NotFound, "run " + std::to_string(r.runId), "no such run");
  if (r.modelId != 0 && !model(r.modelId))
    fail(ErrorKind::NotFound, "model " + std::to_string(r.modelId), "no such model");
  const int64_t architecture = idByName("architectures", r.architecture, owner);
  const int64_t dataset = idByName("datasets", r.dataset, owner);
  ensureBlob(sha, [&] { return weights; });
  sql::Statement s(*db_, std::string("INSERT INTO samples(run_id, architecture_id, dataset_id, seed, sampling, "
                                     "conditioning, novelty, top1, top5, blob_sha256, model_id, created_at) "
                                     "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, ") +
                             kNow + "))");
  s.bind(1, r.runId ? std::optional<int64_t>(r.runId) : std::nullopt).bind(2, architecture).bind(3, dataset);
  s.bind(4, nonNegative(r.seed)).bind(5, r.sampling.dump()).bind(6, r.conditioning.dump()).bind(7, r.novelty.dump());
  s.bind(8, r.top1).bind(9, r.top5).bind(10, sha);
  s.bind(11, r.modelId ? std::optional<int64_t>(r.modelId) : std::nullopt).bind(12, nonEmpty(r.createdAt));
  s.run();
  const int64_t id = db_->lastInsertId();
  tx.commit();
  blobs.keep();
  return id;
}

std::optional<SampleRecord> Catalogue::sample(int64_t id) {
  return queryOne(*db_, std::string("SELECT ") + kSampleColumns + " WHERE s.id = ?", {id}, readSample);
}

std::vector<SampleRecord> Catalogue::samples(int64_t runId) {
  if (runId == 0) return queryRows(*db_, std::string("SELECT ") + kSampleColumns + " ORDER BY s.id", {}, readSample);
  return queryRows(*db_, std::string("SELECT ") + kSampleColumns + " WHERE s.run_id = ? ORDER BY s.id", {runId},
                   readSample);
}

StateDict Catalogue::loadWeights(const SampleRecord& sample) {
  return blobs_.load(sample.blobSha256, "sample " + std::to_string(sample.id));
}

void Catalogue::linkSampleToModel(int64_t sampleId, int64_t modelId) {
  if (modelId != 0 && !model(modelId)) fail(ErrorKind::NotFound, "model " + std::to_string(modelId), "no such model");
  sql::Statement s(*db_, "UPDATE samples SET model_id = ? WHERE id = ?");
  s.bind(1, modelId ? std::optional<int64_t>(modelId) : std::nullopt).bind(2, sampleId).run();
  if (db_->changes() == 0) fail(ErrorKind::NotFound, "sample " + std::to_string(sampleId), "no such sample");
}

// --- embeddings ---

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "embedding vectors are stored as little-endian float32; add byte swapping for this platform"
#endif

std::optional<std::vector<float>> Catalogue::cachedEmbedding(const std::string& kind, const std::string& key,
                                                             const std::string& encoder) {
  sql::Statement s(*db_, "SELECT dim, vector FROM embeddings WHERE kind = ? AND key = ? AND encoder = ?");
  s.bind(1, kind).bind(2, key).bind(3, encoder);
  if (!s.step()) return std::nullopt;
  const auto bytes = s.blob(1);
  if (bytes.size() != size_t(s.int64(0)) * sizeof(float))
    fail(ErrorKind::Catalogue, "embedding " + kind + "/" + key, "stored vector has the wrong size");
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

void Catalogue::storeEmbedding(const std::string& kind, const std::string& key, const std::string& encoder,
                               const std::vector<float>& vector) {
  sql::Statement s(*db_, "INSERT OR REPLACE INTO embeddings(kind, key, encoder, dim, vector) VALUES(?, ?, ?, ?, ?)");
  s.bind(1, kind).bind(2, key).bind(3, encoder).bind(4, int64_t(vector.size()));
  s.bindBlob(5, vector.data(), vector.size() * sizeof(float)).run();
}

// --- maintenance ---

std::vector<std::string> Catalogue::referencedBlobs() {
  return queryRows(*db_, "SELECT blob_sha256 FROM models UNION SELECT blob_sha256 FROM samples", {},
                   [](const sql::Statement& s) { return s.text(0); });
}

IntegrityReport Catalogue::integrityCheck(bool verifyBlobs) {
  IntegrityReport report;
  {
    sql::Statement s(*db_, "PRAGMA integrity_check");
    while (s.step())
      if (s.text(0) != "ok") report.problems.push_back("database: " + s.text(0));
  }
  {
    sql::Statement s(*db_, "PRAGMA foreign_key_check");
    while (s.step())
      report.problems.push_back(s.text(0) + " row " + std::to_string(s.int64(1)) + " refers to a missing " +
                                s.text(2) + " row");
  }
  report.modelsChecked = countModels();
  {
    sql::Statement s(*db_, "SELECT COUNT(*) FROM samples");
    s.step();
    report.samplesChecked = s.int64(0);
  }
  const std::vector<std::string> referenced = referencedBlobs();
  std::vector<std::string> suspects;
  for (const auto& sha : referenced) {
    ++report.blobsChecked;
    const bool bad = !BlobStore::isSha256(sha) || (verifyBlobs ? !blobs_.verify(sha).empty() : !blobs_.exists(sha));
    if (bad) suspects.push_back(sha);
  }
  // A row and its blob may be removed between the two reads above; only blobs whose rows
  // are still there count.
  if (!suspects.empty()) {
    sql::Statement owners(*db_,
                          "SELECT 'model ' || id FROM models WHERE blob_sha256 = ?1 "
                          "UNION ALL SELECT 'sample ' || id FROM samples WHERE blob_sha256 = ?1");
    for (const auto& sha : suspects) {
      owners.bind(1, sha);
      std::string who;
      while (owners.step()) who += (who.empty() ? "" : ", ") + owners.text(0);
      owners.reset();
      if (who.empty()) continue;
      const std::string what = !BlobStore::isSha256(sha) ? "an invalid blob name '" + sha + "'"
                                                         : blobs_.verify(sha);
      if (!what.empty()) report.problems.push_back(who + ": " + what);
    }
  }
  const std::set<std::string> used(referenced.begin(), referenced.end());
  for (const auto& f : blobs_.files())
    if (f.sha256.empty() || !used.count(f.sha256)) ++report.orphanBlobs;
  return report;
}

BlobCleanup Catalogue::cleanupOrphanBlobs(std::chrono::seconds minAge) {
  BlobCleanup result;
  // Under the write lock, so no row can start referencing a blob while it is deleted.
  sql::Transaction tx(*db_);
  const std::vector<std::string> referenced = referencedBlobs();
  const std::set<std::string> used(referenced.begin(), referenced.end());
  const auto cutoff = std::filesystem::file_time_type::clock::now() - minAge;
  for (const auto& f : blobs_.files()) {
    if ((!f.sha256.empty() && used.count(f.sha256)) || f.modified > cutoff) continue;
    std::error_code ec;
    if (std::filesystem::remove(f.path, ec)) {
      ++result.filesRemoved;
      result.bytesRemoved += int64_t(f.size);
    } else if (ec) {
      fail(ErrorKind::Io, f.path, "cannot delete: " + ec.message());
    }
  }
  tx.commit();
  return result;
}

}  // namespace igpg
