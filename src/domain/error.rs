//! The ways a request can fail. Messages name fields and positions, never values.

/// A request this function will not act on, with a human sentence safe to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Anything but POST.
    #[error("only POST is accepted")]
    MethodNotAllowed,
    /// The body exceeds the configured limit.
    #[error("the request body is larger than the {limit}-byte limit")]
    PayloadTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The event's headers or body encoding could not be turned into a request.
    #[error("the request could not be read: malformed headers or body encoding")]
    UnreadableRequest,
    /// No `X-Merge-Webhook-Signature` header.
    #[error("the X-Merge-Webhook-Signature header is missing")]
    MissingSignature,
    /// The signature does not verify under any configured key.
    #[error("the X-Merge-Webhook-Signature header does not match the request body")]
    InvalidSignature,
    /// The body is not JSON.
    #[error("the request body is not valid JSON (line {line}, column {column})")]
    MalformedJson {
        /// 1-based line of the first error.
        line: usize,
        /// 1-based column of the first error.
        column: usize,
    },
    /// The body is JSON but not an object.
    #[error("the request body is not a JSON object")]
    NotAnObject,
    /// The envelope has the wrong shape.
    #[error("the webhook envelope is invalid: {detail}")]
    InvalidEnvelope {
        /// What is wrong, naming the member.
        detail: &'static str,
    },
    /// An Employee event whose `data` is missing or not an object.
    #[error("the Employee event's `data` is missing or not a JSON object")]
    InvalidEmployee,
    /// An Employee whose fields cannot be read: a member repeated, a number out of
    /// range, an unpaired surrogate.
    #[error("a field of the Employee in `data` cannot be read (line {line}, column {column})")]
    UnreadableEmployee {
        /// 1-based line in the body.
        line: usize,
        /// 1-based column in the body.
        column: usize,
    },
    /// The delivery was decided, but the termination schedule it needs could not be
    /// changed: a fault on this side that a retry can fix.
    #[error("the termination schedule could not be updated; the delivery can be retried")]
    SchedulingUnavailable,
    /// The delivery was decided, but the employee ledger could not be read or written:
    /// a fault on this side that a retry can fix.
    #[error("the employee ledger could not be updated; the delivery can be retried")]
    LedgerUnavailable,
}

impl RequestError {
    /// A short, stable code for responses, logs and alarms.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::MethodNotAllowed => "method_not_allowed",
            RequestError::PayloadTooLarge { .. } => "payload_too_large",
            RequestError::UnreadableRequest => "unreadable_request",
            RequestError::MissingSignature => "missing_signature",
            RequestError::InvalidSignature => "invalid_signature",
            RequestError::MalformedJson { .. } => "malformed_json",
            RequestError::NotAnObject => "body_not_object",
            RequestError::InvalidEnvelope { .. } => "invalid_envelope",
            RequestError::InvalidEmployee | RequestError::UnreadableEmployee { .. } => {
                "invalid_employee"
            }
            RequestError::SchedulingUnavailable => "scheduling_unavailable",
            RequestError::LedgerUnavailable => "ledger_unavailable",
        }
    }
}
