-- The catalogue's first schema. Migrations run in order inside one write transaction
-- each, and PRAGMA user_version records the last one applied (core/catalogue/catalogue.cpp).
-- Times are UTC ISO 8601 text, so they sort as strings. Unknown numbers (accuracy not yet
-- measured, seed not recorded) are NULL. JSON columns hold text that nlohmann/json parses.
-- Weight tensors never live here: blob_sha256 names a safetensors file in the blob store
-- beside the database (blobs/ab/abcdef....safetensors).

-- 'IGPG' as a big-endian integer: marks the file as ours, so a random SQLite database
-- given as --catalogue is refused instead of being filled with our tables.
PRAGMA application_id = 1229410375;

CREATE TABLE datasets (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  kind         TEXT NOT NULL DEFAULT '',
  definition   TEXT NOT NULL DEFAULT '{}',
  num_classes  INTEGER NOT NULL DEFAULT 0,
  channels     INTEGER NOT NULL DEFAULT 0,
  height       INTEGER NOT NULL DEFAULT 0,
  width        INTEGER NOT NULL DEFAULT 0,
  train_count  INTEGER NOT NULL DEFAULT 0,
  test_count   INTEGER NOT NULL DEFAULT 0,
  content_hash TEXT NOT NULL DEFAULT '',
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE architectures (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  family      TEXT NOT NULL DEFAULT '',
  spec        TEXT NOT NULL DEFAULT '{}',
  description TEXT NOT NULL DEFAULT '',
  num_params  INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
-- Family filters, and sorting by family then name (see models_architecture).
CREATE INDEX architectures_family ON architectures(family, name);

-- One row per checkpoint. Several rows may share a blob (the same weights imported twice).
CREATE TABLE models (
  id              INTEGER PRIMARY KEY,
  architecture_id INTEGER NOT NULL REFERENCES architectures(id),
  dataset_id      INTEGER NOT NULL REFERENCES datasets(id),
  source          TEXT NOT NULL DEFAULT '',
  seed            INTEGER,
  epoch           INTEGER,
  top1            REAL,
  top5            REAL,
  loss            REAL,
  num_params      INTEGER NOT NULL DEFAULT 0,
  blob_sha256     TEXT NOT NULL CHECK (length(blob_sha256) = 64),
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  metadata        TEXT NOT NULL DEFAULT '{}'
);
-- The studio's zoo table sorts 100,000 rows by any column and pages through them. Each
-- index carries the rowid, so "ORDER BY x, id" pages straight from the index; sorting by
-- architecture or dataset name walks that table's name index and, for each name, its
-- models in id order. The same indexes serve the filters.
CREATE INDEX models_architecture ON models(architecture_id);
CREATE INDEX models_dataset ON models(dataset_id);
CREATE INDEX models_source ON models(source);
CREATE INDEX models_seed ON models(seed);
CREATE INDEX models_epoch ON models(epoch);
CREATE INDEX models_top1 ON models(top1);
CREATE INDEX models_top5 ON models(top5);
CREATE INDEX models_loss ON models(loss);
CREATE INDEX models_num_params ON models(num_params);
CREATE INDEX models_created_at ON models(created_at);
-- The usual view: one dataset or architecture, best first.
CREATE INDEX models_dataset_top1 ON models(dataset_id, top1);
CREATE INDEX models_architecture_top1 ON models(architecture_id, top1);
-- Blob reference counting on removal and duplicate detection on import.
CREATE INDEX models_blob ON models(blob_sha256);

-- Tokenizer, prior and zoo trainings.
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY,
  kind            TEXT NOT NULL,
  name            TEXT NOT NULL DEFAULT '',
  config          TEXT NOT NULL DEFAULT '{}',
  status          TEXT NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'finished', 'failed', 'cancelled')),
  checkpoint_path TEXT NOT NULL DEFAULT '',
  parent_run_id   INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  finished_at     TEXT,
  summary         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_kind ON runs(kind, id);

-- Per-step training curves. Keyed for the studio's plots, which read one metric of one
-- run in step order; re-logging a step (a resumed run) replaces the value.
CREATE TABLE run_metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name   TEXT NOT NULL,
  step   INTEGER NOT NULL,
  value  REAL,
  PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;

-- Generated weights: which prior run and conditioning made them, how they scored, and the
-- zoo model they became if the user saved them.
CREATE TABLE samples (
  id              INTEGER PRIMARY KEY,
  run_id          INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  architecture_id INTEGER NOT NULL REFERENCES architectures(id),
  dataset_id      INTEGER NOT NULL REFERENCES datasets(id),
  seed            INTEGER,
  sampling        TEXT NOT NULL DEFAULT '{}',
  conditioning    TEXT NOT NULL DEFAULT '{}',
  novelty         TEXT NOT NULL DEFAULT '{}',
  top1            REAL,
  top5            REAL,
  blob_sha256     TEXT NOT NULL CHECK (length(blob_sha256) = 64),
  model_id        INTEGER REFERENCES models(id) ON DELETE SET NULL,
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX samples_run ON samples(run_id, id);
CREATE INDEX samples_blob ON samples(blob_sha256);
CREATE INDEX samples_model ON samples(model_id);

-- Cached dataset and architecture embeddings (float32 little-endian vectors), keyed by
-- what was embedded and by which encoder, so a changed encoder never reuses a stale vector.
CREATE TABLE embeddings (
  kind       TEXT NOT NULL,
  key        TEXT NOT NULL,
  encoder    TEXT NOT NULL,
  dim        INTEGER NOT NULL,
  vector     BLOB NOT NULL CHECK (length(vector) = 4 * dim),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  PRIMARY KEY (kind, key, encoder)
) WITHOUT ROWID;
