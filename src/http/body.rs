//! Request bodies arrive whole within a deadline (issue 12, M2): [`deadline`] wraps every
//! request's body so that, `body_read_timeout_ms` after the head arrived, a body still
//! trickling in fails to read; [`read`] is the one way handlers and middleware buffer a body,
//! turning that failure into 408 and an overlong body into 413.

use crate::ctx::Ctx;
use crate::error::Error;
use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// The error a body yields once its deadline has passed.
#[derive(Debug)]
struct Elapsed;

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body not received in time")
    }
}

impl std::error::Error for Elapsed {}

struct DeadlineBody {
    inner: Body,
    timer: Pin<Box<Sleep>>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(f) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(f);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(Elapsed)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: puts the body deadline on every request that has a body.
pub async fn deadline(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let limit = Duration::from_millis(ctx.config.http_limits.body_read_timeout_ms);
    let (parts, body) = req.into_parts();
    let body = Body::new(DeadlineBody {
        inner: body,
        timer: Box::pin(tokio::time::sleep(limit)),
    });
    next.run(Request::from_parts(parts, body)).await
}

/// Buffers a body of at most `limit` bytes: 413 when longer, 408 when its deadline passed.
pub async fn read(body: Body, limit: usize) -> Result<Bytes, Error> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if caused_by_deadline(&e) {
            Error::RequestTimeout
        } else {
            Error::PayloadTooLarge { limit }
        }
    })
}

fn caused_by_deadline(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = cur {
        if x.is::<Elapsed>() {
            return true;
        }
        cur = x.source();
    }
    false
}
