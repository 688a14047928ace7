//! libpq is compiled into the binary (pq-sys `bundled`, OpenSSL `vendored`) and keeps TLS:
//! it is the bundled libpq (18, not the system's) and names OpenSSL as its TLS library;
//! `sslmode=require` is refused by a server that answers the TLS request with "no" (a libpq
//! built without TLS refuses the URL itself: `sslmode value "require" invalid when SSL support
//! is not compiled in`); against the test PostgreSQL, `sslmode=require` either runs over TLS
//! or fails for the server's lack of it.

use std::ffi::CStr;
use std::io::{Read, Write};
use std::net::TcpListener;

use diesel::prelude::*;
use diesel::result::ConnectionError;
use diesel::sql_types::Bool;
use diesel::PgConnection;

use crate::support::{backends, postgres_admin_url};

/// libpq's message when `sslmode=require` meets a server without TLS.
const NO_TLS_ON_SERVER: &str = "server does not support SSL, but SSL was required";

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

#[test]
fn libpq_is_the_bundled_one_built_with_openssl() {
    // SAFETY: PQlibVersion takes nothing and reads a constant.
    let version = unsafe { pq_sys::PQlibVersion() };
    // pq-src bundles libpq 18 or newer; Debian 12's system libpq is 15.
    assert!(version >= 180_000, "libpq {version}: not the bundled libpq");
    // SAFETY: with a null connection PQsslAttribute reads only its static library name; the
    // attribute name is a NUL-terminated literal and the answer (null or static) is not freed.
    let library = unsafe { pq_sys::PQsslAttribute(std::ptr::null_mut(), c"library".as_ptr()) };
    assert!(
        !library.is_null(),
        "libpq reports no TLS library: it was built without TLS"
    );
    // SAFETY: non-null, a NUL-terminated static string owned by libpq.
    let library = unsafe { CStr::from_ptr(library) };
    assert_eq!(library.to_str(), Ok("OpenSSL"));
}

#[test]
fn sslmode_require_is_refused_by_a_server_without_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local address").port();
    // A server without TLS: it answers the SSLRequest (length 8, code 80877103) with 'N'.
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut request = [0u8; 8];
        stream.read_exact(&mut request).expect("SSLRequest");
        assert_eq!(
            request,
            [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f],
            "an SSLRequest"
        );
        stream.write_all(b"N").expect("answer");
        // Wait for libpq to hang up.
        let _ = stream.read(&mut [0u8; 1]);
    });
    let url =
        format!("postgres://postgres@127.0.0.1:{port}/test?sslmode=require&connect_timeout=5");
    let err = match PgConnection::establish(&url) {
        Ok(_) => panic!("a server without TLS accepted a connection with sslmode=require"),
        Err(e) => e,
    };
    let ConnectionError::BadConnection(message) = err else {
        panic!("not libpq's connection error: {err:?}");
    };
    assert_eq!(
        message,
        format!("connection to server at \"127.0.0.1\", port {port} failed: {NO_TLS_ON_SERVER}\n")
    );
    server.join().expect("server thread");
}

#[test]
fn sslmode_require_on_the_test_postgres_uses_tls_or_is_refused_for_its_lack() {
    if !backends().contains(&"postgres") {
        eprintln!("PostgreSQL is not among HYOJUN_TEST_BACKENDS: not run");
        return;
    }
    let admin = postgres_admin_url();
    let plain = with_param(&admin, "sslmode=disable");
    PgConnection::establish(&plain).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {plain} ({e}). The tests need it: start it \
             (pg_ctlcluster … main start) or set HYOJUN_TEST_POSTGRES_URL; \
             HYOJUN_TEST_BACKENDS=sqlite runs the SQLite half only."
        )
    });
    let required = with_param(&admin, "sslmode=require");
    match PgConnection::establish(&required) {
        Ok(mut conn) => {
            let ssl: bool = diesel::select(diesel::dsl::sql::<Bool>(
                "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
            ))
            .get_result(&mut conn)
            .expect("pg_stat_ssl");
            assert!(ssl, "connected with sslmode=require but without TLS");
        }
        Err(ConnectionError::BadConnection(message)) => assert!(
            message
                .trim_end()
                .ends_with(&format!("failed: {NO_TLS_ON_SERVER}")),
            "{message}"
        ),
        Err(e) => panic!("not libpq's connection error: {e:?}"),
    }
}
