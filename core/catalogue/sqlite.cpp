#include "catalogue/sqlite.h"

#include "common/error.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace igpg::sql {

namespace fs = std::filesystem;

namespace {

// Why the file could not be opened, in terms of the path rather than SQLite's generic
// "unable to open database file".
std::string cannotOpenReason(const std::string& path, int systemErrno) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return "it is a folder, not a catalogue file";
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) return "its folder " + dir.string() + " does not exist";
  if (::access(dir.c_str(), W_OK) != 0)
    return "its folder " + dir.string() + " is read-only (not writable: " + std::strerror(errno) + ")";
  if (fs::exists(path, ec) && ::access(path.c_str(), R_OK | W_OK) != 0)
    return "the file is read-only or unreadable (" + std::string(std::strerror(errno)) + ")";
  return systemErrno ? std::strerror(systemErrno) : "unknown reason";
}

// "file:" URI for a path: percent-encodes what URIs give a meaning to; an absolute path
// gets an empty authority, so that "//x" is not read as a host.
std::string fileUri(const std::string& path, const std::string& query) {
  std::string uri = path.rfind('/', 0) == 0 ? "file://" : "file:";
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      uri += buf;
    } else {
      uri += char(c);
    }
  }
  return query.empty() ? uri : uri + "?" + query;
}

}  // namespace

Database::Database(const std::string& path, bool readOnly, int busyTimeoutMs)
    : path_(path), readOnly_(readOnly), busyTimeoutMs_(busyTimeoutMs) {
  // NOMUTEX: a connection belongs to one thread (see catalogue.h), so SQLite's own
  // per-call locking would only cost time.
  const int flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  open(fileUri(path, ""), flags);
  // A WAL catalogue in a folder this user cannot write (a shared zoo, read-only media)
  // cannot be read the usual way: SQLite would need to create its -shm index beside it.
  // Such a reader could not take a lock anyway, so it reads the file as immutable.
  if (readOnly) {
    const int rc = sqlite3_exec(db_, "SELECT COUNT(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN) {
      sqlite3_close_v2(db_);
      db_ = nullptr;
      open(fileUri(path, "immutable=1"), flags);
    }
  }
  sqlite3_extended_result_codes(db_, 1);
  setBusyTimeout(busyTimeoutMs);
  // SQLite silently opens a write-protected file read-only; a writer must hear about it now.
  if (!readOnly && sqlite3_db_readonly(db_, "main") == 1) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error(ErrorKind::Catalogue, path, "the catalogue file is read-only; check its permissions");
  }
}

void Database::open(const std::string& uri, int flags) {
  const int rc = sqlite3_open_v2(uri.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const int sysErr = db_ ? sqlite3_system_errno(db_) : 0;
    sqlite3_close_v2(db_);
    db_ = nullptr;
    if ((rc & 0xff) == SQLITE_CANTOPEN)
      throw Error(ErrorKind::Catalogue, path_, "cannot open the catalogue: " + cannotOpenReason(path_, sysErr));
    throw Error(ErrorKind::Catalogue, path_, std::string("cannot open the catalogue: ") + sqlite3_errstr(rc));
  }
}

Database::~Database() { sqlite3_close_v2(db_); }

void Database::setBusyTimeout(int ms) {
  busyTimeoutMs_ = ms;
  sqlite3_busy_timeout(db_, ms);
}

void Database::fail(int rc, const std::string& context) const {
  const std::string detail = sqlite3_errmsg(db_);
  std::string message;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      message = "the catalogue is locked by another writer (gave up after " + std::to_string(busyTimeoutMs_) +
                " ms; set IGPG_BUSY_TIMEOUT_MS to wait longer)";
      break;
    case SQLITE_READONLY:
      message = readOnly_
                    ? "the catalogue was opened read-only"
                    : "the catalogue is read-only (" + detail + "); check the permissions of the file and its folder";
      break;
    case SQLITE_CANTOPEN:
      message = "cannot open the catalogue: " + cannotOpenReason(path_, sqlite3_system_errno(db_));
      break;
    case SQLITE_NOTADB:
      message = "not a catalogue: the file is not an SQLite database";
      break;
    case SQLITE_CORRUPT:
      message = "the catalogue is corrupted (" + detail + "); restore it from a backup";
      break;
    case SQLITE_FULL:
      message = "the disk is full; nothing was written";
      break;
    default:
      message = (context.empty() ? "" : context + ": ") + detail;
  }
  throw Error(ErrorKind::Catalogue, path_, message);
}

void Database::requireWritable() const {
  if (readOnly_) throw Error(ErrorKind::Catalogue, path_, "the catalogue was opened read-only");
}

void Database::exec(const std::string& sql) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc, "running " + sql.substr(0, sql.find_first_of("\n;")));
}

bool Database::inTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
int64_t Database::lastInsertId() const { return sqlite3_last_insert_rowid(db_); }
int64_t Database::changes() const { return sqlite3_changes(db_); }

Statement::Statement(Database& db, const std::string& sql) : db_(db), sql_(sql) {
  const int rc = sqlite3_prepare_v2(db.handle(), sql.c_str(), int(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) db_.fail(rc, "preparing " + sql.substr(0, 60));
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, "binding");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (std::isnan(value)) return bindNull(index);
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, "binding");
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  const int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_.fail(rc, "binding");
  return *this;
}

Statement& Statement::bindBlob(int index, const void* data, size_t size) {
  const int rc = sqlite3_bind_blob64(stmt_, index, size ? data : "", size, SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) db_.fail(rc, "binding");
  return *this;
}

Statement& Statement::bindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_.fail(rc, "binding");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc, "running " + sql_.substr(0, 60));
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::isNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::real(int column) const {
  return isNull(column) ? std::nan("") : sqlite3_column_double(stmt_, column);
}

std::string Statement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p ? std::string(p, size_t(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::vector<uint8_t> Statement::blob(int column) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  return p ? std::vector<uint8_t>(p, p + sqlite3_column_bytes(stmt_, column)) : std::vector<uint8_t>();
}

Transaction::Transaction(Database& db) : db_(db) {
  db.requireWritable();
  if (db.inTransaction()) {
    static std::atomic<uint64_t> counter{0};
    savepoint_ = "igpg_sp" + std::to_string(counter++);
    db.exec("SAVEPOINT " + savepoint_);
  } else {
    db.exec("BEGIN IMMEDIATE");
  }
}

Transaction::~Transaction() {
  if (done_) return;
  // An error may already have rolled SQLite's transaction back; then there is nothing to undo.
  if (!db_.inTransaction()) return;
  const std::string sql = outermost() ? "ROLLBACK" : "ROLLBACK TO " + savepoint_ + "; RELEASE " + savepoint_;
  sqlite3_exec(db_.handle(), sql.c_str(), nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec(outermost() ? "COMMIT" : "RELEASE " + savepoint_);
  done_ = true;
}

}  // namespace igpg::sql
