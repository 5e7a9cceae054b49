// Thin RAII layer over the SQLite C API for the catalogue: a connection, prepared
// statements and transactions. Every SQLite failure becomes an igpg::Error of kind
// Catalogue whose `where` is the database path and whose message says what to do
// (locked by another writer, read-only, not a database, disk full).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace igpg::sql {

class Database {
 public:
  // Opens (ReadWrite: and creates) the file. Throws Error(Catalogue) naming the path.
  Database(const std::string& path, bool readOnly, int busyTimeoutMs);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  bool readOnly() const { return readOnly_; }
  int busyTimeoutMs() const { return busyTimeoutMs_; }
  void setBusyTimeout(int ms);

  // Runs one or more statements that return no rows (schema scripts, pragmas).
  void exec(const std::string& sql);
  bool inTransaction() const;
  int64_t lastInsertId() const;
  int64_t changes() const;

  // Throws the Error for `rc`, with `context` (what was being done) in the message.
  [[noreturn]] void fail(int rc, const std::string& context) const;
  // Throws Error(Catalogue) unless the connection may write.
  void requireWritable() const;

 private:
  void open(const std::string& uri, int flags);

  sqlite3* db_ = nullptr;
  std::string path_;
  bool readOnly_;
  int busyTimeoutMs_;
};

// A prepared statement. Parameters are 1-based, as in SQL's "?" order.
class Statement {
 public:
  Statement(Database& db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, int64_t(value)); }
  Statement& bind(int index, double value);  // NaN is stored as NULL
  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, const char* value) { return bind(index, std::string(value)); }
  Statement& bindBlob(int index, const void* data, size_t size);
  Statement& bindNull(int index);
  // Binds NULL for an absent value.
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bindNull(index);
  }

  // Advances to the next row; false when done. Throws on errors.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  // Makes the statement ready to run again with new bindings.
  void reset();

  bool isNull(int column) const;
  int64_t int64(int column) const;
  double real(int column) const;  // NULL reads as NaN
  std::string text(int column) const;
  std::vector<uint8_t> blob(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// A write transaction. The outermost one is BEGIN IMMEDIATE, which takes the write lock
// at once (waiting up to the busy timeout), so a writer never fails half-way through on
// a lock; one opened inside another becomes a SAVEPOINT, so functions that need
// atomicity compose. Rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();
  bool outermost() const { return savepoint_.empty(); }

 private:
  Database& db_;
  std::string savepoint_;
  bool done_ = false;
};

}  // namespace igpg::sql
