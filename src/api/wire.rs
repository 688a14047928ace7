//! The connection layer. actix-http answers a request that is not HTTP before the application
//! sees it — a request line or header with bytes HTTP does not allow (a raw space, a control
//! character, non-ASCII bytes in the URL): 400; a request head over 128 KiB or with more than
//! 96 headers: 431 — with an empty body and `connection: close`. [`Enveloped`] wraps each
//! connection and rewrites exactly those answers into the error envelope as they are written
//! (the application's own error answers always have a JSON body, so they never match).
//!
//! actix-http also refuses a URL over 64 KiB (the `http` crate's limit) with that empty 400.
//! The wrapper counts the bytes of each request's first line as it reads them, so a refused
//! request whose request line is over the URL limit is answered as the application answers
//! a long URL: 414 `uri_too_long`, naming the limit.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_codec::{AsyncRead, AsyncWrite, ReadBuf};

use super::error::ErrorCode;
use crate::limits::group_digits;

/// The heads actix-http writes for requests it cannot parse, and what replaces each.
const REWRITES: &[(&[u8], ErrorCode, &str)] = &[
    (
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        ErrorCode::BadRequest,
        "the request is not valid HTTP: its request line or a header has bytes HTTP does not allow (percent-encode spaces, control characters and non-ASCII text in URLs)",
    ),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n",
        ErrorCode::HeadersTooLarge,
        "the request head is too large: at most 128 KiB and 96 headers",
    ),
];

/// The envelope answer for one of actix-http's empty error answers at the start of `buf`:
/// the bytes to write instead, and how many bytes of `buf` they replace. `request_line` is
/// how long the refused request's first line was; over `url_limit` the 400 becomes a 414.
pub fn rewrite(buf: &[u8], request_line: usize, url_limit: u64) -> Option<(Vec<u8>, usize)> {
    let (prefix, code, message) = REWRITES.iter().find(|(p, _, _)| buf.starts_with(p))?;
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let status_line_end = buf.windows(2).position(|w| w == b"\r\n")? + 2;
    let rest_of_head = &buf[prefix.len()..end];
    let long_url = *code == ErrorCode::BadRequest && request_line as u64 > url_limit;
    let (status_line, body) = if long_url {
        let message = format!(
            "the URL is too long; the limit is {} bytes (HYOJUN_MAX_URL_BYTES)",
            group_digits(url_limit)
        );
        let body =
            serde_json::json!({"error": {"code": ErrorCode::UriTooLong, "message": message}});
        (&b"HTTP/1.1 414 URI Too Long\r\n"[..], body.to_string())
    } else {
        let body = serde_json::json!({"error": {"code": code, "message": message}});
        (&buf[..status_line_end], body.to_string())
    };
    let mut out = Vec::with_capacity(end + body.len() + 64);
    out.extend_from_slice(status_line);
    out.extend_from_slice(
        format!(
            "content-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(rest_of_head);
    out.extend_from_slice(body.as_bytes());
    Some((out, end))
}

/// A connection whose writes pass through [`rewrite`].
pub struct Enveloped<T> {
    io: T,
    /// A rewritten answer being written: its bytes, how many are written, and how many bytes
    /// of the caller's buffer it stands for.
    pending: Option<(Vec<u8>, usize, usize)>,
    /// Bytes read of the current request's first line, and whether its end was read.
    request_line: (usize, bool),
    /// The URL limit (`url_bytes`).
    url_limit: u64,
}

impl<T> Enveloped<T> {
    /// Wraps a connection whose URLs are held to `url_limit` bytes.
    pub fn new(io: T, url_limit: u64) -> Self {
        Enveloped {
            io,
            pending: None,
            request_line: (0, false),
            url_limit,
        }
    }

    /// Counts the request-line bytes among bytes just read.
    fn saw(&mut self, read: &[u8]) {
        let (len, done) = &mut self.request_line;
        if !*done {
            match read.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    *len += i;
                    *done = true;
                }
                None => *len += read.len(),
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> Enveloped<T> {
    /// Writes what is pending; `Ready(Ok(n))` with the caller's bytes it stood for when done.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, written, stands_for)) = &mut self.pending {
            if *written == bytes.len() {
                let n = *stands_for;
                self.pending = None;
                return Poll::Ready(Ok(n));
            }
            match Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(0))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Enveloped<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.saw(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Enveloped<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            if buf.starts_with(b"HTTP/") {
                // An answer: the next bytes read start the next request.
                let request_line = std::mem::take(&mut this.request_line).0;
                if let Some((bytes, stands_for)) = rewrite(buf, request_line, this.url_limit) {
                    this.pending = Some((bytes, 0, stands_for));
                }
            }
            if this.pending.is_none() {
                return Pin::new(&mut this.io).poll_write(cx, buf);
            }
        }
        this.drain(cx)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pending.is_some() {
            match this.drain(cx) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn empty_parse_errors_become_envelopes() {
        let written = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: Wed, 02 Dec 2026 00:21:35 GMT\r\n\r\n";
        let (out, replaced) = rewrite(written, 100, 8192).expect("rewritten");
        assert_eq!(replaced, written.len());
        let text = String::from_utf8(out).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("head");
        assert_eq!(
            head,
            format!("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\ndate: Wed, 02 Dec 2026 00:21:35 GMT", body.len())
        );
        let body: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(body["error"]["code"], "bad_request");
        // An answer of the application (with a body) is left alone.
        assert!(rewrite(
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 80\r\n\r\n{}",
            100,
            8192
        )
        .is_none());
        assert!(rewrite(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", 100, 8192).is_none());
        // A refused request whose request line is over the URL limit: 414.
        let (out, _) = rewrite(written, 70_000, 8192).expect("rewritten");
        let text = String::from_utf8(out).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("head");
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\n"));
        assert!(head.ends_with("connection: close\r\ndate: Wed, 02 Dec 2026 00:21:35 GMT"));
        let body: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(body["error"]["code"], "uri_too_long");
        assert_eq!(
            body["error"]["message"],
            "the URL is too long; the limit is 8,192 bytes (HYOJUN_MAX_URL_BYTES)"
        );
    }
}
