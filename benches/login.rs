//! Load benchmark of complete logins through HTTP (issue 4, check 4; PostgreSQL and several
//! nodes: issue 14, check 3).
//!
//! ```text
//! cargo bench --bench login                      # 1,000 and 100,000 existing users, SQLite
//! FEDBRIDGE_BENCH_LOGINS=20000 FEDBRIDGE_BENCH_CONNECTIONS=16 cargo bench --bench login
//! # PostgreSQL, 1 or 2 nodes (an administrative URL: each run creates its own database):
//! FEDBRIDGE_BENCH_DATABASE=postgres://postgres@127.0.0.1:PORT/postgres FEDBRIDGE_BENCH_NODES=2 \
//!     cargo bench --bench login
//! FEDBRIDGE_BENCH_KEEP_ALIVE=5 cargo bench --bench login    # serve --keep-alive 5
//! ```
//!
//! For each population it creates a fresh database (an SQLite file, or a PostgreSQL database
//! on the server `FEDBRIDGE_BENCH_DATABASE` names), seeds that many existing users (each in three
//! of 20 local groups, each with one live session and its assertion ID in the replay cache, as
//! after a working day: a database whose login tables start empty is measured with the query
//! plans of empty tables), configures fedbridge in the public-key scenario with IdP-initiated login
//! allowed, and starts the real `fedbridge serve` binary as a child process, or
//! `FEDBRIDGE_BENCH_NODES` of them on the same PostgreSQL database (connection `i` goes to node
//! `i % N`, as a round-robin load balancer would send it).
//! It then signs, before the clock starts, one fresh response per login (RSA-2048 RSA-SHA256,
//! Assertion signed, a random existing user with a random set of groups, a unique assertion ID)
//! and POSTs them to the ACS from 8 clients in a closed loop (each reconnects when the server
//! closes the connection, which `fedbridge serve` does after every request unless started with
//! `--keep-alive`; the connect counts in the latency). A login counts when
//! the answer is the 303 to the landing page with an xsession: validation, replay record, user
//! and group sync, token minting and the audit row all happened.
//!
//! Reported: logins per second, latency percentiles (client side, per request), failures, the
//! servers' peak resident memory (`VmHWM`), the CPU per login of fedbridge (all nodes) and of
//! PostgreSQL (the postmaster with every backend, exited ones included), from `/proc`. The load
//! generator shares the machine's cores with the server, as a reverse proxy would.
//!
//! The PostgreSQL server of the figures is durable (`fsync` and `synchronous_commit` on, as the
//! SQLite figures are): `FEDBRIDGE_CI_POSTGRES_DURABLE=1 bash .ci/postgres start` starts one with
//! the settings of the figures (`.ci/postgres` documents them).

#![allow(
    clippy::expect_used,
    reason = "a benchmark: any failure is a bug of the setup, said by the message"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use diesel::connection::SimpleConnection;
use diesel::{Connection as _, PgConnection, RunQueryDsl as _, SqliteConnection};
use fedbridge::clock::{Clock, SystemClock};
use fedbridge::saml::xmldsig::sign::sign_enveloped;
use fedbridge::store::Store;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use time::format_description::well_known::Rfc3339;

const ACS_PATH: &str = "/EnticeServices/rest/authenticate/saml";
const CONSUMER_URL: &str = "https://sp.bench.test/EnticeServices/rest/authenticate/saml";
const IDP_ENTITY: &str = "https://idp.bench.test/metadata";
/// fedbridge's default entityID: the consumer URL.
const SP_ENTITY: &str = CONSUMER_URL;
const GROUPS: usize = 20;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs each bench once with no
    // argument: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let logins = env_number("FEDBRIDGE_BENCH_LOGINS", if quick { 200 } else { 10_000 });
    let connections = env_number("FEDBRIDGE_BENCH_CONNECTIONS", 8);
    let populations: Vec<usize> = match std::env::var("FEDBRIDGE_BENCH_USERS") {
        Ok(users) => users
            .split(',')
            .filter_map(|u| u.trim().parse().ok())
            .collect(),
        Err(_) if quick => vec![1_000],
        Err(_) => vec![1_000, 100_000],
    };
    let backend = match std::env::var("FEDBRIDGE_BENCH_DATABASE") {
        Ok(admin) if admin.starts_with("postgres") => Backend::Postgres {
            admin,
            nodes: env_number("FEDBRIDGE_BENCH_NODES", 1).max(1),
        },
        _ => Backend::Sqlite,
    };
    println!(
        "login bench: {logins} logins per run from {connections} clients, \
         {} cores, {backend}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let (key, certificate) = idp_credentials();
    for users in populations {
        let result = run(&backend, users, logins, connections, &key, &certificate);
        println!("{result}");
    }
}

/// Where the runs keep their data.
enum Backend {
    /// A fresh SQLite file per run, one node.
    Sqlite,
    /// A fresh database per run on the PostgreSQL server of `admin`, served by `nodes` nodes.
    Postgres { admin: String, nodes: usize },
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Sqlite => write!(f, "SQLite, 1 node"),
            Backend::Postgres { nodes, .. } => write!(f, "PostgreSQL, {nodes} node(s)"),
        }
    }
}

/// The figures of one run.
struct Outcome {
    users: usize,
    logins: usize,
    failures: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    peak_rss_kib: Option<u64>,
    server_cpu: Option<Duration>,
    postgres_cpu: Option<Duration>,
    first_failure: Option<String>,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ok = self.logins - self.failures;
        let rate = ok as f64 / self.elapsed.as_secs_f64();
        let pct = |p: f64| {
            let index = ((self.latencies.len() as f64 * p).ceil() as usize)
                .saturating_sub(1)
                .min(self.latencies.len().saturating_sub(1));
            self.latencies
                .get(index)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        write!(
            f,
            "users {:>7}: {ok} logins in {:.2} s = {rate:.0} logins/s; latency p50 {:.2} ms, \
             p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; failures {}; server peak RSS {}; \
             fedbridge CPU {}{}",
            self.users,
            self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.90),
            pct(0.99),
            pct(1.0),
            self.failures,
            self.peak_rss_kib.map_or("unknown".to_string(), |k| format!(
                "{:.1} MiB",
                k as f64 / 1024.0
            )),
            self.server_cpu.map_or("unknown".to_string(), |cpu| format!(
                "{:.2} ms per login ({:.0} % of one core)",
                cpu.as_secs_f64() * 1000.0 / ok.max(1) as f64,
                cpu.as_secs_f64() * 100.0 / self.elapsed.as_secs_f64()
            )),
            self.postgres_cpu.map_or(String::new(), |cpu| format!(
                "; PostgreSQL CPU {:.2} ms per login ({:.0} % of one core)",
                cpu.as_secs_f64() * 1000.0 / ok.max(1) as f64,
                cpu.as_secs_f64() * 100.0 / self.elapsed.as_secs_f64()
            )),
        )?;
        if let Some(failure) = &self.first_failure {
            write!(f, "\n  first failure: {failure}")?;
        }
        Ok(())
    }
}

fn run(
    backend: &Backend,
    users: usize,
    logins: usize,
    connections: usize,
    key: &PKey<Private>,
    certificate: &X509,
) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, nodes) = match backend {
        Backend::Sqlite => (dir.path().join("bench.db").display().to_string(), 1),
        Backend::Postgres { admin, nodes } => (postgres_database(admin, users), *nodes),
    };
    let db = db.as_str();
    configure(db, certificate);
    let seeded = Instant::now();
    match backend {
        Backend::Sqlite => seed_users(db, users),
        Backend::Postgres { .. } => seed_users_postgres(db, users),
    }
    eprintln!(
        "  seeded {users} users in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let signed = Instant::now();
    let bodies = Arc::new(sign_responses(users, logins, key, certificate));
    eprintln!(
        "  signed {logins} responses in {:.1} s",
        signed.elapsed().as_secs_f64()
    );
    // The nodes start together: they migrate under the advisory lock (nothing is pending).
    let mut servers: Vec<Server> = std::thread::scope(|scope| {
        let starting: Vec<_> = (0..nodes)
            .map(|_| scope.spawn(|| Server::start(db)))
            .collect();
        starting
            .into_iter()
            .map(|s| s.join().expect("start a node"))
            .collect()
    });
    // Warm-up: the first login creates the xsession signing key.
    let warm = post(&mut connect(servers[0].port), &bodies[0]);
    assert!(warm.is_ok(), "warm-up login failed: {warm:?}");
    let postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres { .. } => Some(PostgresProcesses::of(db)),
    };

    let next = Arc::new(AtomicUsize::new(1));
    let cpu_before = servers_cpu(&servers);
    let postgres_before = postgres.as_ref().and_then(PostgresProcesses::cpu_time);
    let client_before = cpu_time_of("self");
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|connection| {
            let bodies = bodies.clone();
            let next = next.clone();
            let port = servers[connection % servers.len()].port;
            std::thread::spawn(move || {
                // Connected on first use, again after the server closed the connection: the
                // connect counts in the login's latency, as it would for a browser.
                let mut stream: Option<Keepalive> = None;
                let mut latencies = Vec::new();
                let mut failures = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(index) else { break };
                    let at = Instant::now();
                    let connection = stream.get_or_insert_with(|| connect(port));
                    match post(connection, body) {
                        Ok(closes) => {
                            latencies.push(at.elapsed());
                            if closes {
                                stream = None;
                            }
                        }
                        Err(e) => {
                            failures.push(e);
                            stream = None;
                        }
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    for worker in workers {
        let (l, f) = worker.join().expect("load thread");
        latencies.extend(l);
        failures.extend(f);
    }
    let elapsed = started.elapsed();
    if let Some((after, before)) = cpu_time_of("self").zip(client_before) {
        eprintln!(
            "  load generator CPU: {:.0} % of one core",
            after.saturating_sub(before).as_secs_f64() * 100.0 / elapsed.as_secs_f64()
        );
    }
    let server_cpu = servers_cpu(&servers)
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let postgres_cpu = postgres
        .as_ref()
        .and_then(PostgresProcesses::cpu_time)
        .zip(postgres_before)
        .map(|(after, before)| after.saturating_sub(before));
    latencies.sort();
    let peak_rss_kib = servers.iter().filter_map(Server::peak_rss_kib).max();
    for server in &mut servers {
        server.stop();
    }
    Outcome {
        users,
        logins: logins - 1,
        failures: failures.len(),
        elapsed,
        latencies,
        peak_rss_kib,
        server_cpu,
        postgres_cpu,
        first_failure: failures.into_iter().next(),
    }
}

/// User + system CPU time of every node so far.
fn servers_cpu(servers: &[Server]) -> Option<Duration> {
    servers.iter().map(Server::cpu_time).sum()
}

/// A fresh database for one run on the PostgreSQL server of `admin`: its URL.
fn postgres_database(admin: &str, users: usize) -> String {
    let mut conn = PgConnection::establish(admin).expect("connect to the PostgreSQL server");
    let name = format!("fedbridge_bench_{}_{users}", std::process::id());
    // Two statements: a multi-statement batch is one transaction, which DROP DATABASE refuses.
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .expect("drop an earlier bench database");
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create the bench database");
    let (base, _) = admin.rsplit_once('/').expect("a URL with a database name");
    format!("{base}/{name}")
}

/// [`seed_users`] on PostgreSQL, then statistics and a checkpoint, so that the run starts
/// from a settled server.
fn seed_users_postgres(url: &str, users: usize) {
    let mut conn = PgConnection::establish(url).expect("postgres");
    let now = SystemClock.now().unix_timestamp();
    conn.batch_execute(&format!(
        "BEGIN;
         INSERT INTO groups (name) SELECT format('group-%s', lpad(i::text, 2, '0'))
           FROM generate_series(1, {GROUPS}) AS i;
         INSERT INTO users (login_name, full_name, email, created_at, updated_at)
           SELECT format('user%s@bench.test', lpad(i::text, 7, '0')), format('User %s', i),
                  format('user%s@bench.test', lpad(i::text, 7, '0')), {now}, {now}
           FROM generate_series(1, {users}) AS i;
         INSERT INTO memberships (user_id, group_id, federated)
           SELECT id, 1 + (id % {GROUPS}), TRUE FROM users;
         INSERT INTO memberships (user_id, group_id, federated)
           SELECT id, 1 + ((id + 7) % {GROUPS}), TRUE FROM users;
         INSERT INTO memberships (user_id, group_id, federated)
           SELECT id, 1 + ((id + 13) % {GROUPS}), FALSE FROM users;
         INSERT INTO xsessions (jti, sid, user_id, issued_at, expires_at)
           SELECT format('seed-jti-%s', id), format('seed-sid-%s', id), id, {now}, {now} + 28800
           FROM users;
         INSERT INTO replay_cache (assertion_id, expires_at)
           SELECT format('_seed-assertion-%s', id), {now} + 300 FROM users;
         COMMIT;"
    ))
    .expect("seed the users");
    conn.batch_execute("VACUUM ANALYZE").expect("vacuum");
    conn.batch_execute("CHECKPOINT").expect("checkpoint");
}

/// The processes of the PostgreSQL server: the postmaster (whose children's CPU, exited ones
/// included, is in its `cutime`/`cstime`) and its live children.
struct PostgresProcesses {
    postmaster: u32,
}

impl PostgresProcesses {
    /// The server of the database `url` (the parent of a backend of it).
    fn of(url: &str) -> PostgresProcesses {
        let mut conn = PgConnection::establish(url).expect("postgres");
        let backend: BackendPid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result(&mut conn)
            .expect("backend pid");
        let status = std::fs::read_to_string(format!("/proc/{}/status", backend.pid))
            .expect("PostgreSQL runs on this machine");
        let postmaster = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|p| p.trim().parse().ok())
            .expect("the postmaster");
        PostgresProcesses { postmaster }
    }

    /// CPU of the postmaster, of its exited children and of the live ones.
    fn cpu_time(&self) -> Option<Duration> {
        let mut total = cpu_time_with_children(&self.postmaster.to_string())?;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let parent = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("PPid:"))
                        .and_then(|p| p.trim().parse::<u32>().ok())
                });
            if parent == Some(self.postmaster) {
                total += cpu_time_of(pid).unwrap_or_default();
            }
        }
        Some(total)
    }
}

#[derive(diesel::QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

/// The settings: public-key scenario, IdP-initiated allowed, groups mapped.
fn configure(db: &str, certificate: &X509) {
    let store = Store::open(db).expect("open the database");
    let pem = String::from_utf8(certificate.to_pem().expect("pem")).expect("utf-8");
    let rows = [
        ("SAML_CONSUMER_URL", CONSUMER_URL),
        ("SAML_REDIRECT_URL", "https://idp.bench.test/sso"),
        ("SAML_SIGNING_CERTIFICATE", pem.as_str()),
        ("SAML_SERVER_ENTITY_IDENTIFIER", IDP_ENTITY),
        ("SAML_USER_FULLNAME_ATTRIBUTE", "displayname"),
        ("SAML_USER_EMAIL_ATTRIBUTE", "email"),
        ("SAML_USER_GROUPS_ATTRIBUTE", "groups"),
        ("FEDBRIDGE_ALLOW_IDP_INITIATED", "1"),
    ];
    let rows = rows
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
        .collect();
    store.replace_config(&rows).expect("write the settings");
}

/// `users` existing users `user0000001@bench.test`..., each in three of the 20 groups (one of
/// them a local, non-federated membership), in one transaction.
fn seed_users(db: &str, users: usize) {
    let mut conn = SqliteConnection::establish(db).expect("sqlite");
    let now = SystemClock.now().unix_timestamp();
    conn.batch_execute(&format!(
        "BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {GROUPS})
         INSERT INTO groups (name) SELECT printf('group-%02d', i) FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {users})
         INSERT INTO users (login_name, full_name, email, created_at, updated_at)
           SELECT printf('user%07d@bench.test', i), printf('User %d', i),
                  printf('user%07d@bench.test', i), {now}, {now} FROM n;
         INSERT INTO memberships (user_id, group_id, federated)
           SELECT id, 1 + (id % {GROUPS}), 1 FROM users;
         INSERT INTO memberships (user_id, group_id, federated)
           SELECT id, 1 + ((id + 7) % {GROUPS}), 1 FROM users;
         INSERT INTO memberships (user_id, group_id, federated)
           SELECT id, 1 + ((id + 13) % {GROUPS}), 0 FROM users;
         INSERT INTO xsessions (jti, sid, user_id, issued_at, expires_at)
           SELECT 'seed-jti-' || id, 'seed-sid-' || id, id, {now}, {now} + 28800 FROM users;
         INSERT INTO replay_cache (assertion_id, expires_at)
           SELECT '_seed-assertion-' || id, {now} + 300 FROM users;
         COMMIT;"
    ))
    .expect("seed the users");
}

/// One POST body per login: a signed unsolicited response for a random existing user with a
/// random set of groups, signed on every core.
fn sign_responses(
    users: usize,
    logins: usize,
    key: &PKey<Private>,
    certificate: &X509,
) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = logins.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let start = t * per_thread;
                    let end = (start + per_thread).min(logins);
                    (start..end)
                        .map(|i| form_body(&response(i, users, key, certificate)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("signing thread"))
            .collect()
    })
}

/// The signed response of login `i`: an xorshift of `i` picks the user and the groups.
fn response(i: usize, users: usize, key: &PKey<Private>, certificate: &X509) -> String {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut random = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let user = 1 + random() as usize % users;
    let login = format!("user{user:07}@bench.test");
    let groups: String = (1..=GROUPS)
        .filter(|_| random() % 5 == 0)
        .map(|g| format!("<saml:AttributeValue>group-{g:02}</saml:AttributeValue>"))
        .collect();
    let now = SystemClock.now();
    let at = |offset: i64| {
        (now + time::Duration::seconds(offset))
            .format(&Rfc3339)
            .expect("time")
    };
    let assertion_id = format!("_a{i:08}{:016x}", random());
    let xml = format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_r{i:08}\" Version=\"2.0\" \
         IssueInstant=\"{now}\" Destination=\"{CONSUMER_URL}\">\
         <saml:Issuer>{IDP_ENTITY}</saml:Issuer>\
         <samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/>\
         </samlp:Status>\
         <saml:Assertion ID=\"{assertion_id}\" Version=\"2.0\" IssueInstant=\"{now}\">\
         <saml:Issuer>{IDP_ENTITY}</saml:Issuer>\
         <saml:Subject><saml:NameID \
         Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">{login}</saml:NameID>\
         <saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">\
         <saml:SubjectConfirmationData NotOnOrAfter=\"{until}\" Recipient=\"{CONSUMER_URL}\"/>\
         </saml:SubjectConfirmation></saml:Subject>\
         <saml:Conditions NotBefore=\"{before}\" NotOnOrAfter=\"{until}\">\
         <saml:AudienceRestriction><saml:Audience>{SP_ENTITY}</saml:Audience>\
         </saml:AudienceRestriction></saml:Conditions>\
         <saml:AuthnStatement AuthnInstant=\"{now}\" SessionIndex=\"_s{i}\"><saml:AuthnContext>\
         <saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:\
         PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>\
         </saml:AuthnStatement>\
         <saml:AttributeStatement>\
         <saml:Attribute Name=\"displayname\"><saml:AttributeValue>User {user}\
         </saml:AttributeValue></saml:Attribute>\
         <saml:Attribute Name=\"email\"><saml:AttributeValue>{login}</saml:AttributeValue>\
         </saml:Attribute>\
         <saml:Attribute Name=\"groups\">{groups}</saml:Attribute>\
         </saml:AttributeStatement></saml:Assertion></samlp:Response>",
        now = at(0),
        before = at(-30),
        until = at(600),
    );
    sign_enveloped(&xml, &assertion_id, key, certificate).expect("sign the response")
}

/// The urlencoded form of the HTTP-POST binding.
fn form_body(xml: &str) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
    let mut body = b"SAMLResponse=".to_vec();
    body.extend(url::form_urlencoded::byte_serialize(encoded.as_bytes()).flat_map(str::bytes));
    body
}

/// A fresh RSA-2048 key and self-signed certificate for the bench IdP.
fn idp_credentials() -> (PKey<Private>, X509) {
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).expect("rsa")).expect("pkey");
    let mut name = openssl::x509::X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", "bench IdP").expect("cn");
    let name = name.build();
    let mut builder = X509::builder().expect("x509");
    builder.set_version(2).expect("version");
    builder.set_subject_name(&name).expect("subject");
    builder.set_issuer_name(&name).expect("issuer");
    builder.set_pubkey(&key).expect("pubkey");
    let start = openssl::asn1::Asn1Time::days_from_now(0).expect("start");
    let end = openssl::asn1::Asn1Time::days_from_now(30).expect("end");
    builder.set_not_before(&start).expect("not before");
    builder.set_not_after(&end).expect("not after");
    builder
        .sign(&key, openssl::hash::MessageDigest::sha256())
        .expect("self-sign");
    (key, builder.build())
}

/// `fedbridge serve` as a child process on a free port.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(db: &str) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fedbridge"));
        command.args(["serve", "--listen", "127.0.0.1:0", "--database", db]);
        // FEDBRIDGE_BENCH_KEEP_ALIVE=SECS: measure with `serve --keep-alive SECS`.
        if let Ok(seconds) = std::env::var("FEDBRIDGE_BENCH_KEEP_ALIVE") {
            command.args(["--keep-alive", &seconds]);
        }
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start fedbridge serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listen line");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        Server { child, port }
    }

    /// `VmHWM` of the server process, in KiB.
    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// User + system CPU time of the server process so far (from `/proc`, in clock ticks of
    /// 10 ms).
    fn cpu_time(&self) -> Option<Duration> {
        cpu_time_of(&self.child.id().to_string())
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection: buffered reads, direct writes.
struct Keepalive {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

fn connect(port: u16) -> Keepalive {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    Keepalive {
        writer: stream.try_clone().expect("clone the stream"),
        reader: BufReader::new(stream),
    }
}

/// POSTs `body` to the ACS on a connection; `Ok` when the answer is a 303 carrying an xsession
/// (in the landing URL of a downstream application, or in the cookie on fedbridge's own landing
/// page, where these logins land), with whether the server closes the connection after it (`Connection: close`: by default
/// `fedbridge serve` serves one request per connection, and the client reconnects).
fn post(connection: &mut Keepalive, body: &[u8]) -> Result<bool, String> {
    let head = format!(
        "POST {ACS_PATH} HTTP/1.1\r\nHost: sp.bench.test\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    connection
        .writer
        .write_all(&request)
        .map_err(|e| format!("write: {e}"))?;
    let (status, headers, body) = read_response(&mut connection.reader)?;
    let location = headers
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("location"))
        })
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let closes = headers.lines().any(|l| {
        l.split_once(':').is_some_and(|(n, v)| {
            n.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close")
        })
    });
    let token_cookie = headers.lines().any(|l| {
        l.split_once(':').is_some_and(|(n, v)| {
            n.eq_ignore_ascii_case("set-cookie") && v.trim_start().starts_with("xsession=ey")
        })
    });
    if status == 303 && (location.contains("xsession=") || token_cookie) {
        Ok(closes)
    } else {
        Err(format!(
            "HTTP {status}, location {location:?}, body {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>()
        ))
    }
}

/// Reads one HTTP/1.1 response (status, raw headers, body by Content-Length).
fn read_response(reader: &mut BufReader<TcpStream>) -> Result<(u16, String, Vec<u8>), String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed".into());
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader
        .read_exact(&mut body)
        .map_err(|e| format!("read body: {e}"))?;
    Ok((status, head, body))
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU time of the process `pid` (`self` for this one) so far, from `/proc` (in
/// clock ticks of 10 ms).
fn cpu_time_of(pid: &str) -> Option<Duration> {
    cpu_ticks(pid, 2)
}

/// [`cpu_time_of`] plus the CPU of its children that exited and were waited for.
fn cpu_time_with_children(pid: &str) -> Option<Duration> {
    cpu_ticks(pid, 4)
}

/// The sum of the first `fields` of utime, stime, cutime, cstime of `pid`.
fn cpu_ticks(pid: &str, fields: usize) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which ends with ')'): utime is the 12th, then stime,
    // cutime, cstime.
    let all: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let mut ticks = 0u64;
    for field in all.get(11..11 + fields)? {
        ticks += field.parse::<u64>().ok()?;
    }
    Some(Duration::from_millis(ticks * 10))
}
