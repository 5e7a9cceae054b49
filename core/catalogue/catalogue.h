// The model catalogue: one SQLite file (datasets, architectures, models, runs and their
// metrics, generated samples, cached embeddings) and, beside it, a content-addressed blob
// store holding every weight tensor (blobs/ab/abcdef....safetensors, see blob_store.h).
//
// Threads and processes: a Catalogue is one SQLite connection and must not be shared
// between threads; each thread (each studio worker, each process) opens its own. Many
// may read and write one catalogue at once: the file is in WAL mode (readers never wait
// for the writer), writers take the write lock with BEGIN IMMEDIATE and wait for each
// other up to the busy timeout ($IGPG_BUSY_TIMEOUT_MS, default 5000 ms), after which
// they fail with an error saying the catalogue is locked.
//
// Crash safety: a blob is complete on disk (temporary file + rename) before any row
// points at it, and rows change in transactions, so a crash leaves at worst an
// unreferenced blob file, which cleanupOrphanBlobs removes. Blob files are deleted only
// while holding the write lock and only when no row references them.
#pragma once

#include "catalogue/blob_store.h"
#include "catalogue/records.h"
#include "formats/state_dict.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace igpg {

namespace sql {
class Database;
class Transaction;
}  // namespace sql

class Catalogue {
 public:
  enum OpenMode { ReadWrite, ReadOnly };

  // ReadWrite creates the file (and its folder) if needed and brings its schema up to
  // date; ReadOnly never writes and needs an existing, up-to-date catalogue. Throws
  // Error(Catalogue) with the path for a catalogue newer than this program, a file that
  // is not a catalogue, a read-only location or a lock held beyond the busy timeout.
  static std::unique_ptr<Catalogue> open(const std::string& path, OpenMode mode = ReadWrite);
  ~Catalogue();
  Catalogue(const Catalogue&) = delete;
  Catalogue& operator=(const Catalogue&) = delete;

  const std::string& path() const;
  std::string blobDirectory() const { return blobs_.directory(); }
  int schemaVersion() const { return schemaVersion_; }
  static int latestSchemaVersion();  // the newest schema this program knows
  void setBusyTimeout(int milliseconds);

  // Groups several writes (upserts, adds, removals) into one transaction: everything or
  // nothing. It holds the write lock until it ends; the methods below join it.
  class WriteTransaction {
   public:
    explicit WriteTransaction(Catalogue& catalogue);
    ~WriteTransaction();  // rolls back unless committed
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;
    void commit();

   private:
    Catalogue& catalogue_;
    std::unique_ptr<sql::Transaction> tx_;
  };

  // --- datasets and architectures (keyed by name; upsert replaces all fields but the id
  // and the creation time) ---
  int64_t upsertDataset(const DatasetRecord& dataset);
  std::optional<DatasetRecord> findDataset(const std::string& name);
  std::vector<DatasetRecord> listDatasets();  // by name

  int64_t upsertArchitecture(const ArchitectureRecord& architecture);
  std::optional<ArchitectureRecord> findArchitecture(const std::string& name);
  std::vector<ArchitectureRecord> listArchitectures();  // by name

  // --- models ---
  // Stores the weights and the row; returns the new id. The architecture and the dataset
  // must exist (Error NotFound otherwise).
  int64_t addModel(const ModelRecord& model, const StateDict& weights);
  // All or none, in one transaction. Returns the ids in the batch's order.
  std::vector<int64_t> addModels(const std::vector<ModelWeights>& batch);
  // Blobs written ahead of their rows, for callers that stream many large files: store
  // each file's weights as it is read (keeping only the hash), add all the rows with
  // addModelRecords, then keep(). Blobs not kept (an error, a cancel) are deleted when
  // the batch dies, unless some row references them by then.
  class BlobBatch {
   public:
    explicit BlobBatch(Catalogue& catalogue) : catalogue_(catalogue) {}
    ~BlobBatch();
    BlobBatch(const BlobBatch&) = delete;
    BlobBatch& operator=(const BlobBatch&) = delete;
    std::string store(const StateDict& weights);  // returns the blob's SHA-256
    void keep() { created_.clear(); }

   private:
    Catalogue& catalogue_;
    std::vector<std::string> created_;
  };
  // Adds rows whose blobSha256 came from a BlobBatch, in one transaction. `reload(i)`
  // gives record i's weights again in the rare case its blob was deleted meanwhile
  // (removed with its last other reference, or cleaned as an orphan); without it that
  // is an error.
  std::vector<int64_t> addModelRecords(const std::vector<ModelRecord>& records,
                                       const std::function<StateDict(size_t)>& reload = {});

  std::optional<ModelRecord> model(int64_t id);
  std::vector<ModelRecord> listModels(const ModelFilter& filter = {});
  // Throws Error(Usage) for a filter listModels would refuse (an unknown orderBy), without
  // needing a catalogue: for checking user input before opening one.
  static void checkFilter(const ModelFilter& filter);
  int64_t countModels(const ModelFilter& filter = {});  // ignores limit and offset
  // Reads the model's blob, verifying its SHA-256.
  StateDict loadWeights(const ModelRecord& model);
  // Deletes the row and, once nothing else references it, its blob. Error NotFound if absent.
  void removeModel(int64_t id);

  // --- runs and their per-step metrics ---
  int64_t createRun(const RunRecord& run);
  void updateRunStatus(int64_t id, const std::string& status);
  void setRunCheckpoint(int64_t id, const std::string& checkpointPath);
  // Sets the final status (finished, failed or cancelled), the summary and finishedAt.
  void finishRun(int64_t id, const std::string& status, const nlohmann::json& summary = nlohmann::json::object());
  std::optional<RunRecord> run(int64_t id);
  std::vector<RunRecord> listRuns(const std::string& kind = {});  // all kinds when empty; by id
  // One transaction; a (step, name) logged again replaces the earlier value.
  void addMetrics(int64_t runId, const std::vector<MetricPoint>& points);
  // By name, then step; only `name` when given.
  std::vector<MetricPoint> metrics(int64_t runId, const std::string& name = {});

  // --- generated samples ---
  int64_t addSample(const SampleRecord& sample, const StateDict& weights);
  std::optional<SampleRecord> sample(int64_t id);
  std::vector<SampleRecord> samples(int64_t runId = 0);  // 0: all runs; by id
  StateDict loadWeights(const SampleRecord& sample);
  void linkSampleToModel(int64_t sampleId, int64_t modelId);

  // --- embedding cache (kind: "dataset", "architecture"; key: what was embedded) ---
  std::optional<std::vector<float>> cachedEmbedding(const std::string& kind, const std::string& key,
                                                    const std::string& encoder);
  void storeEmbedding(const std::string& kind, const std::string& key, const std::string& encoder,
                      const std::vector<float>& vector);

  // --- maintenance ---
  // PRAGMA integrity_check and foreign_key_check, and every referenced blob exists;
  // verifyBlobs also re-hashes each blob (reads every weight file).
  IntegrityReport integrityCheck(bool verifyBlobs = false);
  // Deletes blob files and interrupted writes' temporaries that no row references and
  // that are older than minAge, so that blobs of an import still in flight survive.
  BlobCleanup cleanupOrphanBlobs(std::chrono::seconds minAge = std::chrono::minutes(60));
 private:
  Catalogue(std::unique_ptr<sql::Database> db, const std::string& blobDirectory);
  void migrate();
  // The id of a dataset or an architecture (table "datasets" or "architectures"); Error
  // NotFound naming `owner` (what needed it) otherwise.
  int64_t idByName(const std::string& table, const std::string& name, const std::string& owner);
  void ensureBlob(const std::string& sha256, const std::function<StateDict()>& reload);
  // Deletes those of the blobs that no row references, under the write lock; inside a
  // transaction, once the outermost one ends. Best effort: a blob that stays is an orphan.
  void releaseBlobs(const std::vector<std::string>& sha256s, int lockTimeoutMs) noexcept;
  void releasePendingBlobs() noexcept;
  std::vector<std::string> referencedBlobs();

  std::unique_ptr<sql::Database> db_;
  BlobStore blobs_;
  int schemaVersion_ = 0;
  // Blobs whose last reference was removed inside a still-open transaction: deleted when
  // the outermost transaction ends (if still unreferenced then).
  std::vector<std::string> pendingBlobDeletes_;
};

}  // namespace igpg
