//! Hostile bodies for the request path, each with the answer it must get.

use merge_deprovision_samples::{TYPICAL_ENVELOPE, employee_envelope};
use serde_json::json;

/// Every hostile body: a name, the decision or error code it gets, and the body.
pub fn hostile_bodies() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let deep = |open: &str, close: &str, depth: usize, wrap: fn(String) -> String| {
        wrap(format!("{}1{}", open.repeat(depth), close.repeat(depth))).into_bytes()
    };
    let with_data = |data: &str| {
        format!(r#"{{"hook":{{"event":"Employee.changed"}},"data":{data}}}"#).into_bytes()
    };
    let huge_date = |size: usize| {
        let envelope = employee_envelope("Employee.changed", |d| {
            d.insert(
                "termination_date".into(),
                json!(format!("2026-11-20{}", "9".repeat(size))),
            );
        });
        serde_json::to_vec(&envelope).unwrap()
    };
    let mut invalid_utf8 = br#"{"hook":{"event":"Employee.changed"},"data":{"id":""#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    invalid_utf8.extend_from_slice(br#""}}"#);
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend_from_slice(TYPICAL_ENVELOPE.as_bytes());
    vec![
        (
            "nesting 100000 deep at the top",
            "body_not_object",
            deep("[", "]", 100_000, |s| s),
        ),
        (
            "nesting 100000 deep in data",
            "active",
            deep("[", "]", 100_000, |s| {
                format!(r#"{{"hook":{{"event":"Employee.changed"}},"data":{{"remote_data":{s}}}}}"#)
            }),
        ),
        (
            "nesting 100000 deep objects in data",
            "active",
            deep("{\"a\":", "}", 100_000, |s| {
                format!(r#"{{"hook":{{"event":"Employee.changed"}},"data":{{"remote_data":{s}}}}}"#)
            }),
        ),
        (
            "nesting 100000 deep in hook",
            "invalid_envelope",
            deep("[", "]", 100_000, |s| format!(r#"{{"hook":{s}}}"#)),
        ),
        (
            "nesting 100000 deep in a date",
            "undetermined",
            deep("[", "]", 100_000, |s| {
                format!(
                    r#"{{"hook":{{"event":"Employee.changed"}},"data":{{"termination_date":{s}}}}}"#
                )
            }),
        ),
        (
            "a 900 KB string in a date",
            "terminated",
            huge_date(900_000),
        ),
        (
            "a year beyond chrono's range",
            "undetermined",
            with_data(
                r#"{"termination_date":"+999999-01-01T00:00:00Z","hire_date":"99999-12-31"}"#,
            ),
        ),
        (
            "a negative year",
            "undetermined",
            with_data(r#"{"termination_date":"-0001-01-01T00:00:00Z"}"#),
        ),
        (
            "1e999 in a date",
            "invalid_employee",
            with_data(r#"{"termination_date":1e999}"#),
        ),
        (
            "1e999 in an unknown field",
            "terminated",
            with_data(r#"{"remote_data":[1e999],"employment_status":"INACTIVE"}"#),
        ),
        (
            "-1e999 as employee_number",
            "invalid_employee",
            with_data(r#"{"employee_number":-1e999}"#),
        ),
        ("invalid UTF-8", "malformed_json", invalid_utf8),
        ("a byte-order mark", "malformed_json", bom),
        ("null body", "body_not_object", b"null".to_vec()),
        ("array body", "body_not_object", b"[]".to_vec()),
        (
            "string body",
            "body_not_object",
            br#""Employee.changed""#.to_vec(),
        ),
        ("null data", "invalid_employee", with_data("null")),
        ("array data", "invalid_employee", with_data("[]")),
        (
            "string data",
            "invalid_employee",
            with_data(r#""0958cbc6""#),
        ),
        (
            "array hook",
            "invalid_envelope",
            br#"{"hook":[],"data":{}}"#.to_vec(),
        ),
        (
            "string hook",
            "invalid_envelope",
            br#"{"hook":"Employee.changed","data":{}}"#.to_vec(),
        ),
        (
            "string linked_account",
            "active",
            br#"{"hook":{"event":"Employee.changed"},"linked_account":"x","data":{}}"#.to_vec(),
        ),
        (
            "event named '.'",
            "ignored",
            br#"{"hook":{"event":"."},"data":{}}"#.to_vec(),
        ),
        (
            "event named 'Employee.'",
            "ignored",
            br#"{"hook":{"event":"Employee."},"data":{}}"#.to_vec(),
        ),
        (
            "duplicate data members",
            "invalid_envelope",
            br#"{"hook":{"event":"Employee.changed"},"data":{},"data":{}}"#.to_vec(),
        ),
        (
            "duplicate employee fields",
            "invalid_employee",
            with_data(r#"{"termination_date":"2020-01-01","termination_date":"2099-01-01"}"#),
        ),
        (
            "a NUL in a date",
            "undetermined",
            with_data(r#"{"termination_date":"2026-11-20\u0000"}"#),
        ),
        (
            "lone surrogate escape",
            "invalid_employee",
            with_data(r#"{"work_email":"\ud800"}"#),
        ),
        ("trailing garbage", "malformed_json", b"{} {}".to_vec()),
        ("empty body", "malformed_json", Vec::new()),
    ]
}
