#include "backup/pg_backup_session.h"

#include <dlfcn.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "scnfs/postgres_format.h"

namespace scnfs {
namespace {

// libpq is loaded by the first session, not linked: linked, it brought 24 more shared libraries (OpenSSL,
// Kerberos, LDAP, GnuTLS, p11-kit...) into the start of every scnfs command, a mount's first byte included, for the
// one option that talks to a server (docs/backup.md, "Hot PostgreSQL backups"). libpq-fe.h still gives the types.
// Queries are sent and awaited asynchronously (PQsendQueryParams, PQsocket, PQconsumeInput, PQisBusy, PQgetResult)
// so that an interrupt can cancel them (PQgetCancel, PQcancel, PQfreeCancel): see Conn::AwaitIdle.
#define SCNFS_LIBPQ_FUNCTIONS(X)                                                                                   \
  X(PQcancel) X(PQclear) X(PQconnectdbParams) X(PQconninfoFree) X(PQconninfoParse) X(PQconsumeInput)              \
  X(PQerrorMessage) X(PQfinish) X(PQfreeCancel) X(PQfreemem) X(PQgetCancel) X(PQgetisnull) X(PQgetResult)          \
  X(PQgetvalue) X(PQisBusy) X(PQntuples) X(PQresultErrorMessage) X(PQresultStatus) X(PQsendQueryParams)            \
  X(PQserverVersion) X(PQsetNoticeProcessor) X(PQsocket) X(PQstatus)

struct Libpq {
#define SCNFS_LIBPQ_FIELD(f) decltype(&::f) f = nullptr;
  SCNFS_LIBPQ_FUNCTIONS(SCNFS_LIBPQ_FIELD)
#undef SCNFS_LIBPQ_FIELD
};

constexpr char kLibpqName[] = "libpq.so.5";

// Loads libpq once per process (thread-safe: a function-local static); kept loaded until the process ends.
Result<const Libpq*> LoadLibpq() {
  static const Result<const Libpq*> loaded = []() -> Result<const Libpq*> {
    void* lib = dlopen(kLibpqName, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr)
      return Status::InvalidArgument(fmt::format("--pg-connect needs libpq ({}, Debian package libpq5): {}", kLibpqName, dlerror()));
    static Libpq pq;
#define SCNFS_LIBPQ_RESOLVE(f)                                                                                       \
  if ((pq.f = reinterpret_cast<decltype(&::f)>(dlsym(lib, #f))) == nullptr)                                          \
    return Status::InvalidArgument(fmt::format("--pg-connect: {} has no {}: too old a libpq", kLibpqName, #f));
    SCNFS_LIBPQ_FUNCTIONS(SCNFS_LIBPQ_RESOLVE)
#undef SCNFS_LIBPQ_RESOLVE
    return &pq;
  }();
  return loaded;
}

// The loaded libpq. REQUIRES: LoadLibpq() succeeded (Begin loads it before any other call).
const Libpq& Pq() { return *LoadLibpq().value(); }

// libpq's messages end in a newline and may hold a DETAIL or HINT line: the first line is the reason.
std::string OneLine(const char* message) {
  std::string_view m = message ? message : "";
  m = m.substr(0, m.find('\n'));
  return std::string(m.empty() ? "no message from libpq" : m);
}

struct ResultDeleter {
  void operator()(PGresult* r) const { Pq().PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// How long one wait for the server lasts before the interrupt flag is asked again (a signal also cuts it short:
// poll() returns EINTR). The changed-blocks list's wait uses the same slice.
constexpr int kPollMillis = 200;

bool Interrupted(const Status& s) { return s.code() == Status::Code::kAborted; }

}  // namespace

struct PgBackupSession::Conn {
  PGconn* pg = nullptr;
  std::function<bool()> cancelled;  // asked while a query waits; may be empty
  ~Conn() {
    if (pg) Pq().PQfinish(pg);
  }
  // The connection's own last error (not a query's), as every call here reports it.
  Status ConnectionError() const {
    return Status::IOError(fmt::format("PostgreSQL: {}", OneLine(Pq().PQerrorMessage(pg))));
  }
  // Runs `sql` with text parameters; the result when it returns rows, else the server's reason. `waiting_for`
  // names the wait in the message of an interrupt.
  Result<ResultPtr> Query(const std::string& sql, const std::vector<std::string>& params = {},
                          std::string_view waiting_for = "PostgreSQL's answer") {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    if (!Pq().PQsendQueryParams(pg, sql.c_str(), int(values.size()), nullptr, values.data(), nullptr, nullptr, 0))
      return ConnectionError();
    SCNFS_ASSIGN_OR_RETURN(ResultPtr r, LastResult(waiting_for));
    if (!r) return ConnectionError();
    if (Pq().PQresultStatus(r.get()) != PGRES_TUPLES_OK || Pq().PQntuples(r.get()) != 1)
      return Status::IOError(fmt::format("PostgreSQL: {}", OneLine(Pq().PQresultErrorMessage(r.get()))));
    return r;
  }

 private:
  // The sent query's last result (null if it gave none), every PQgetResult awaited first so that none blocks.
  Result<ResultPtr> LastResult(std::string_view waiting_for) {
    ResultPtr last;
    while (true) {
      SCNFS_RETURN_IF_ERROR(AwaitIdle(waiting_for));
      PGresult* next = Pq().PQgetResult(pg);
      if (next == nullptr) return last;
      last.reset(next);
    }
  }
  // Waits until libpq holds a whole result, in slices that ask `cancelled`. A blocking PQexec ignored SIGTERM and
  // Ctrl-C for minutes in pg_backup_start's spread checkpoint, and `timeout` and schedulers send one signal only
  // (found 2026-12-02). Interrupted, the query is cancelled on the server: a closed connection alone is noticed
  // only through client_connection_check_interval (14 and later, within a second); a backend of 12 or 13, or one
  // where the setting failed, kept waiting for its checkpoint with the backup's slot.
  Status AwaitIdle(std::string_view waiting_for) {
    while (true) {
      if (!Pq().PQconsumeInput(pg)) return ConnectionError();
      if (!Pq().PQisBusy(pg)) return Status::OK();
      if (cancelled && cancelled()) {
        CancelQuery();
        return Status::Aborted(fmt::format("interrupted while waiting for {}; the server's backup and its slot end with "
                                           "the session", waiting_for));
      }
      pollfd p{Pq().PQsocket(pg), POLLIN, 0};
      if (::poll(&p, 1, kPollMillis) < 0 && errno != EINTR) return Status::FromErrno(errno, "cannot wait for PostgreSQL");
    }
  }
  // Best effort: a cancel that does not reach the server still leaves the closed connection to end the backend.
  void CancelQuery() {
    PGcancel* c = Pq().PQgetCancel(pg);
    if (c == nullptr) return;
    char why[256];
    (void)Pq().PQcancel(c, why, sizeof why);
    Pq().PQfreeCancel(c);
  }
};

Result<std::unique_ptr<PgBackupSession>> PgBackupSession::Begin(const std::string& conninfo, const std::string& datadir,
                                                                 const std::string& label, bool fast,
                                                                 std::function<bool()> cancelled) {
  // The user's parameters over ours: a backup must not wait forever for a host that does not answer, and a
  // connection string without a database would name one after the OS user ("root"), which rarely exists.
  // Neither is printed: the connection string may hold a password.
  SCNFS_RETURN_IF_ERROR(LoadLibpq().status());
  char* parse_error = nullptr;
  PQconninfoOption* parsed = Pq().PQconninfoParse(conninfo.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string why = OneLine(parse_error);
    Pq().PQfreemem(parse_error);
    return Status::InvalidArgument(fmt::format("--pg-connect: {}", why));
  }
  std::vector<std::string> keys{"fallback_application_name"}, values{"scnfs backup"};
  bool service = std::getenv("PGSERVICE") != nullptr;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) service |= o->val != nullptr && o->keyword == std::string_view("service");
  // Defaults only: what the connection string, the environment or a service file sets wins.
  if (std::getenv("PGCONNECT_TIMEOUT") == nullptr && !service) keys.push_back("connect_timeout"), values.push_back("10");
  if (std::getenv("PGDATABASE") == nullptr && !service) keys.push_back("dbname"), values.push_back("postgres");
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    keys.push_back(o->keyword);
    values.push_back(o->val);
  }
  Pq().PQconninfoFree(parsed);
  std::vector<const char*> k, v;
  for (size_t i = 0; i < keys.size(); ++i) k.push_back(keys[i].c_str()), v.push_back(values[i].c_str());
  k.push_back(nullptr), v.push_back(nullptr);

  auto conn = std::make_unique<Conn>();
  conn->pg = Pq().PQconnectdbParams(k.data(), v.data(), /*expand_dbname=*/0);
  if (conn->pg == nullptr || Pq().PQstatus(conn->pg) != CONNECTION_OK)
    return Status::IOError(fmt::format("cannot connect to PostgreSQL (--pg-connect{}): {}",
                                       conninfo.empty() ? ", from PG* variables" : "",
                                       OneLine(conn->pg ? Pq().PQerrorMessage(conn->pg) : "out of memory")));
  // pg_backup_stop(false) says that it did not wait for archiving, as a NOTICE: libpq would print it on stderr.
  Pq().PQsetNoticeProcessor(conn->pg, [](void*, const char*) {}, nullptr);
  conn->cancelled = std::move(cancelled);
  std::unique_ptr<PgBackupSession> s(new PgBackupSession(std::move(conn)));
  s->version_ = Pq().PQserverVersion(s->conn_->pg);
  if (s->version_ < 120000)
    return Status::InvalidArgument(fmt::format("PostgreSQL {} is older than 12, which scnfs reads", s->version_));

  auto dir = s->conn_->Query("SELECT current_setting('data_directory')");
  if (Interrupted(dir.status())) return dir.status();
  if (!dir.ok())
    return dir.status().WithContext("cannot ask the server for its data directory (connect as a superuser, or a "
                                    "role with pg_read_all_settings and the right to run pg_backup_start)");
  const std::string served = Pq().PQgetvalue(dir->get(), 0, 0);
  struct stat a {}, b {};
  if (::stat(datadir.c_str(), &a) != 0)
    return Status::FromErrno(errno, fmt::format("cannot stat the data directory {}", datadir));
  // The server's path as it sees it: a server in a container, or one whose data directory this host does not
  // mount, is not the one whose files are read here.
  if (::stat(served.c_str(), &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
    return Status::InvalidArgument(fmt::format(
        "the server at --pg-connect runs the data directory {}, not {}: its backup_label would not describe these files",
        served, datadir));

  // A session whose process is killed ends at once, not when the server next writes to it: waiting in a spread
  // checkpoint, it kept its backend and its slot (holding WAL) for minutes (PostgreSQL 14 and later).
  if (s->version_ >= 140000) {
    auto set = s->conn_->Query("SELECT set_config('client_connection_check_interval', '1000', false)");
    if (Interrupted(set.status())) return set.status();
  }
  auto setting = s->conn_->Query("SELECT count(*)::text FROM pg_settings WHERE name = 'allow_in_place_tablespaces'");
  if (Interrupted(setting.status())) return setting.status();
  s->in_place_tablespaces_ = setting.ok() && std::string_view(Pq().PQgetvalue(setting->get(), 0, 0)) == "1";
  // A temporary slot goes with the session, even when the backup process is killed. A server without free slots
  // (max_replication_slots), or a role without REPLICATION, still backs up: the WAL check at the end finds a
  // segment recycled meanwhile.
  // Unique among backups of one cluster from several hosts: a name taken left the backup without a slot.
  const std::string slot = fmt::format("{}{}_{:x}", kSessionSlotPrefix, ::getpid(),
                                       uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) & 0xffffffffffULL);
  auto made = s->conn_->Query("SELECT pg_create_physical_replication_slot($1, true, true)::text", {slot});
  if (Interrupted(made.status())) return made.status();
  s->slot_ = made.ok();

  const std::string start = s->version_ >= 150000 ? "SELECT pg_backup_start($1, $2)::text"
                                                  : "SELECT pg_start_backup($1, $2, false)::text";
  auto started = s->conn_->Query(start, {label, fast ? "true" : "false"}, "PostgreSQL's checkpoint (pg_backup_start)");
  if (Interrupted(started.status())) return started.status();
  if (!started.ok()) return started.status().WithContext("pg_backup_start failed");
  auto lsn = postgres::ParseLsn(Pq().PQgetvalue(started->get(), 0, 0));
  if (!lsn) return Status::Corruption(fmt::format("pg_backup_start returned '{}', not an LSN", Pq().PQgetvalue(started->get(), 0, 0)));
  s->start_lsn_ = *lsn;
  return s;
}

Result<PgBackupSession::Stop> PgBackupSession::End() {
  if (ended_) return Status::InvalidArgument("the PostgreSQL backup session has ended already");
  ended_ = true;
  const std::string stop = version_ >= 150000 ? "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)"
                                              : "SELECT lsn::text, labelfile, spcmapfile FROM pg_stop_backup(false, false)";
  auto r = conn_->Query(stop, {}, "pg_backup_stop");
  if (Interrupted(r.status())) return r.status();
  if (!r.ok()) return r.status().WithContext("pg_backup_stop failed");
  Stop out;
  auto lsn = postgres::ParseLsn(Pq().PQgetvalue(r->get(), 0, 0));
  if (!lsn) return Status::Corruption(fmt::format("pg_backup_stop returned '{}', not an LSN", Pq().PQgetvalue(r->get(), 0, 0)));
  out.lsn = *lsn;
  out.label_file = Pq().PQgetvalue(r->get(), 0, 1);
  out.tablespace_map = Pq().PQgetisnull(r->get(), 0, 2) ? "" : Pq().PQgetvalue(r->get(), 0, 2);
  return out;
}

PgBackupSession::PgBackupSession(std::unique_ptr<Conn> conn) : conn_(std::move(conn)) {}
PgBackupSession::~PgBackupSession() = default;

}  // namespace scnfs
