//! `vectors/rolltoken-v1.txt`: the same vectors as lines, for checkers without a JSON parser
//! (the C tests). It is derived from the generated JSON text, never from the core directly, so
//! the two files cannot disagree. The format is documented in `vectors/README.md` ("The line
//! file").
//!
//! Every JSON field a checker needs is carried over; a field this module does not know makes
//! generation panic, so a new field in the JSON cannot be silently left out of the lines.

use core::fmt::Write as _;

use serde_json::{Map, Value};

/// Where the binary writes the line file, relative to this crate.
pub const TEXT_OUTPUT: &str = "../rolltoken-v1.txt";

/// The record fields of a `record` object, in line order.
const RECORD_FIELDS: [&str; 21] = [
    "session_id",
    "parent",
    "subject",
    "state",
    "revoke_reason",
    "authenticated",
    "form",
    "counter",
    "floor",
    "version",
    "created_at",
    "expires_at",
    "last_advance_at",
    "grace_until",
    "last_seen_at",
    "grace_answers",
    "confirmed",
    "lateness_ms",
    "binding",
    "binding_key_id",
    "revoked_at",
];

/// How each record field is written.
fn record_field_kind(name: &str) -> Kind {
    match name {
        "session_id" | "parent" | "subject" | "binding" => Kind::Hex,
        "state" | "revoke_reason" | "form" => Kind::Word,
        "authenticated" | "confirmed" => Kind::Bool,
        _ => Kind::Dec,
    }
}

/// The verdict details, in line order (each `-` when the verdict has no such field).
const DETAILS: [&str; 6] = [
    "behind",
    "ahead",
    "presented",
    "current",
    "reason",
    "expiry",
];

/// The session view fields of a façade answer, in line order.
const VIEW_FIELDS: [&str; 7] = [
    "session_id",
    "log_id",
    "subject",
    "authenticated",
    "counter",
    "parent",
    "expires_at",
];

#[derive(Clone, Copy)]
enum Kind {
    /// Bytes given as hex in the JSON: written as they are.
    Hex,
    /// Text (tokens, user agents, addresses, cookies): its UTF-8 bytes as hex.
    Text,
    /// A u64 (decimal string) or a JSON number: decimal.
    Dec,
    /// A boolean: `1` or `0`.
    Bool,
    /// A snake_case name.
    Word,
}

/// One field of a line. `-` is null, `.` an empty byte string.
fn field(v: &Value, kind: Kind, what: &str) -> String {
    if v.is_null() {
        return "-".into();
    }
    let out = match kind {
        Kind::Hex => {
            let s = v.as_str().unwrap_or_else(|| panic!("{what}: not a string"));
            assert!(
                s.bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
                "{what}: not lowercase hex"
            );
            s.to_owned()
        }
        Kind::Text => {
            let s = v.as_str().unwrap_or_else(|| panic!("{what}: not a string"));
            hex::encode(s.as_bytes())
        }
        Kind::Dec => match v {
            Value::String(s) => {
                let n: u64 = s.parse().unwrap_or_else(|_| panic!("{what}: not a u64"));
                n.to_string()
            }
            Value::Number(n) => n
                .as_u64()
                .unwrap_or_else(|| panic!("{what}: not an unsigned integer"))
                .to_string(),
            _ => panic!("{what}: not a number"),
        },
        Kind::Bool => {
            let b = v
                .as_bool()
                .unwrap_or_else(|| panic!("{what}: not a boolean"));
            if b { "1" } else { "0" }.to_owned()
        }
        Kind::Word => {
            let s = v.as_str().unwrap_or_else(|| panic!("{what}: not a string"));
            assert!(
                !s.is_empty()
                    && s.bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'),
                "{what}: not a snake_case name"
            );
            s.to_owned()
        }
    };
    if out.is_empty() { ".".into() } else { out }
}

/// An object whose fields are taken one by one; [`Obj::done`] panics on any field left over.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    what: String,
    taken: Vec<&'a str>,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, what: impl Into<String>) -> Obj<'a> {
        let what = what.into();
        let map = v
            .as_object()
            .unwrap_or_else(|| panic!("{what}: not an object"));
        Obj {
            map,
            what,
            taken: Vec::new(),
        }
    }

    fn get(&mut self, key: &'a str) -> &'a Value {
        self.taken.push(key);
        self.map
            .get(key)
            .unwrap_or_else(|| panic!("{}: no field {key}", self.what))
    }

    fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The field `key` written as `kind`.
    fn f(&mut self, key: &'a str, kind: Kind) -> String {
        let what = format!("{}.{key}", self.what);
        field(self.get(key), kind, &what)
    }

    /// Marks fields a checker does not need (comments, flags, `result`).
    fn skip(&mut self, keys: &[&'a str]) {
        for k in keys {
            self.taken.push(k);
        }
    }

    fn done(self) {
        for k in self.map.keys() {
            assert!(
                self.taken.contains(&k.as_str()),
                "{}: field {k} is not carried into rolltoken-v1.txt (teach vectors/gen/src/text.rs)",
                self.what
            );
        }
    }
}

fn arr<'a>(v: &'a Value, what: &str) -> &'a Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"))
}

/// The lines being written.
struct Out {
    text: String,
}

impl Out {
    fn line(&mut self, fields: &[String]) {
        let line = fields.join(" ");
        assert!(!line.contains('\n'), "a line holds a newline");
        self.text.push_str(&line);
        self.text.push('\n');
    }

    /// `# <comment>` before a test case, for people reading the file.
    fn comment(&mut self, t: &mut Obj<'_>) {
        if t.has("comment") {
            let c = t.get("comment").as_str().unwrap_or_default().to_owned();
            assert!(!c.contains('\n'), "a comment holds a newline");
            let _ = writeln!(self.text, "# {c}");
        }
    }
}

fn s(x: &str) -> String {
    x.to_owned()
}

/// `keyring <minting_id> <count> (<id> <secret>)*`: the keyring of the lines that follow.
fn keyring(out: &mut Out, v: &Value, what: &str) {
    let mut k = Obj::new(v, what);
    let mut fields = vec![s("keyring"), k.f("minting_id", Kind::Dec)];
    let keys = arr(k.get("keys"), what);
    fields.push(keys.len().to_string());
    for (i, key) in keys.iter().enumerate() {
        let mut key = Obj::new(key, format!("{what}.keys[{i}]"));
        fields.push(key.f("id", Kind::Dec));
        fields.push(key.f("secret", Kind::Hex));
        key.done();
    }
    k.done();
    out.line(&fields);
}

/// A single-key keyring line for a `keys` group's `key` object.
fn single_key(out: &mut Out, v: &Value, what: &str) {
    let mut k = Obj::new(v, what);
    let id = k.f("id", Kind::Dec);
    let secret = k.f("secret", Kind::Hex);
    k.done();
    out.line(&[s("keyring"), id.clone(), s("1"), id, secret]);
}

/// `policy`: every field of the policy, in the order of `rt_policy`.
fn policy(out: &mut Out, v: &Value, what: &str) {
    let mut p = Obj::new(v, what);
    let mut fields = vec![
        s("policy"),
        p.f("mode", Kind::Word),
        p.f("form", Kind::Word),
        p.f("anonymous", Kind::Bool),
    ];
    let mut g = Obj::new(p.get("grace"), format!("{what}.grace"));
    let kind = g.f("kind", Kind::Word);
    fields.push(kind.clone());
    match kind.as_str() {
        "fixed" => {
            fields.push(g.f("ms", Kind::Dec));
            fields.push(s("-"));
            fields.push(s("-"));
        }
        "adaptive" => {
            fields.push(s("-"));
            fields.push(g.f("min_ms", Kind::Dec));
            fields.push(g.f("max_ms", Kind::Dec));
        }
        other => panic!("{what}.grace: unknown kind {other}"),
    }
    g.done();
    for (key, kind) in [
        ("span_cap", Kind::Dec),
        ("answer_cap", Kind::Dec),
        ("reissue_one_behind", Kind::Bool),
        ("jar_behind_ms", Kind::Dec),
        ("binding", Kind::Word),
        ("fresh_ms", Kind::Dec),
        ("session_lifetime_ms", Kind::Dec),
        ("idle_timeout_ms", Kind::Dec),
        ("anonymous_lifetime_ms", Kind::Dec),
    ] {
        fields.push(p.f(key, kind));
    }
    p.done();
    out.line(&fields);
}

/// The 21 record fields.
fn record_fields(v: &Value, what: &str) -> Vec<String> {
    let mut r = Obj::new(v, what);
    let fields = RECORD_FIELDS
        .iter()
        .map(|name| r.f(name, record_field_kind(name)))
        .collect();
    r.done();
    fields
}

/// The six detail fields.
fn details(v: &Value, what: &str) -> Vec<String> {
    let mut d = Obj::new(v, what);
    let fields = DETAILS
        .iter()
        .map(|name| {
            if !d.has(name) {
                return s("-");
            }
            let kind = match *name {
                "reason" | "expiry" => Kind::Word,
                _ => Kind::Dec,
            };
            d.f(name, kind)
        })
        .collect();
    d.done();
    fields
}

/// `user_agent ip` booleans of an expectation.
fn binding_match(v: &Value, what: &str) -> Vec<String> {
    let mut b = Obj::new(v, what);
    let fields = vec![b.f("user_agent", Kind::Bool), b.f("ip", Kind::Bool)];
    b.done();
    fields
}

/// The seven view fields, all `-` when the view is null.
fn view(v: &Value, what: &str) -> Vec<String> {
    if v.is_null() {
        return vec![s("-"); VIEW_FIELDS.len()];
    }
    let mut o = Obj::new(v, what);
    let fields = VIEW_FIELDS
        .iter()
        .map(|name| {
            let kind = match *name {
                "session_id" | "subject" | "parent" => Kind::Hex,
                "log_id" => Kind::Word,
                "authenticated" => Kind::Bool,
                _ => Kind::Dec,
            };
            o.f(name, kind)
        })
        .collect();
    o.done();
    fields
}

fn test_head<'a>(t: &mut Obj<'a>, out: &mut Out) -> String {
    out.comment(t);
    t.skip(&["comment", "flags"]);
    t.f("tcId", Kind::Dec)
}

fn keys_section(out: &mut Out, v: &Value) {
    let mut sec = Obj::new(v, "keys");
    for (gi, g) in arr(sec.get("testGroups"), "keys.testGroups")
        .iter()
        .enumerate()
    {
        let what = format!("keys.testGroups[{gi}]");
        let mut g = Obj::new(g, what.clone());
        let ty = g.f("type", Kind::Word);
        if ty != "log_id" {
            single_key(out, g.get("key"), &format!("{what}.key"));
        }
        for (i, t) in arr(g.get("tests"), &what).iter().enumerate() {
            let mut t = Obj::new(t, format!("{what}.tests[{i}]"));
            let id = test_head(&mut t, out);
            let line = match ty.as_str() {
                "compact_tag" => vec![
                    s("key_compact_tag"),
                    id,
                    t.f("session_id", Kind::Hex),
                    t.f("counter", Kind::Dec),
                    t.f("tag", Kind::Hex),
                    t.f("token", Kind::Text),
                ],
                "binding" => vec![
                    s("key_binding"),
                    id,
                    t.f("user_agent", Kind::Text),
                    t.f("ip", Kind::Text),
                    t.f("binding", Kind::Hex),
                ],
                "log_id" => vec![
                    s("key_log_id"),
                    id,
                    t.f("session_id", Kind::Hex),
                    t.f("log_id", Kind::Word),
                ],
                other => panic!("{what}: unknown keys group {other}"),
            };
            t.done();
            out.line(&line);
        }
        g.done();
    }
    sec.done();
}

fn tokens_section(out: &mut Out, v: &Value) {
    let mut sec = Obj::new(v, "tokens");
    for (gi, g) in arr(sec.get("testGroups"), "tokens.testGroups")
        .iter()
        .enumerate()
    {
        let what = format!("tokens.testGroups[{gi}]");
        let mut g = Obj::new(g, what.clone());
        let ty = g.f("type", Kind::Word);
        keyring(out, g.get("keyring"), &format!("{what}.keyring"));
        for (i, t) in arr(g.get("tests"), &what).iter().enumerate() {
            let twhat = format!("{what}.tests[{i}]");
            let mut t = Obj::new(t, twhat.clone());
            let id = test_head(&mut t, out);
            let result = t.f("result", Kind::Word);
            let line = match ty.as_str() {
                "full" => {
                    assert_eq!(result, "valid", "{twhat}");
                    let mut c = Obj::new(t.get("claims"), format!("{twhat}.claims"));
                    let mut line = vec![s("token_full"), id];
                    for (key, kind) in [
                        ("key_id", Kind::Dec),
                        ("session_id", Kind::Hex),
                        ("counter", Kind::Dec),
                        ("issued_at", Kind::Dec),
                        ("expires_at", Kind::Dec),
                        ("subject", Kind::Hex),
                        ("binding", Kind::Hex),
                        ("authenticated", Kind::Bool),
                    ] {
                        line.push(c.f(key, kind));
                    }
                    c.done();
                    line.push(t.f("token", Kind::Text));
                    line
                }
                "compact" => {
                    assert_eq!(result, "valid", "{twhat}");
                    vec![
                        s("token_compact"),
                        id,
                        t.f("key_id", Kind::Dec),
                        t.f("session_id", Kind::Hex),
                        t.f("counter", Kind::Dec),
                        t.f("token", Kind::Text),
                    ]
                }
                "invalid" => {
                    assert_eq!(result, "invalid", "{twhat}");
                    vec![
                        s("token_invalid"),
                        id,
                        t.f("token", Kind::Text),
                        t.f("counter", Kind::Dec),
                        t.f("error", Kind::Word),
                    ]
                }
                other => panic!("{what}: unknown tokens group {other}"),
            };
            t.done();
            out.line(&line);
        }
        g.done();
    }
    sec.done();
}

fn records_section(out: &mut Out, v: &Value) {
    let mut sec = Obj::new(v, "records");
    for (gi, g) in arr(sec.get("testGroups"), "records.testGroups")
        .iter()
        .enumerate()
    {
        let what = format!("records.testGroups[{gi}]");
        let mut g = Obj::new(g, what.clone());
        let ty = g.f("type", Kind::Word);
        for (i, t) in arr(g.get("tests"), &what).iter().enumerate() {
            let twhat = format!("{what}.tests[{i}]");
            let mut t = Obj::new(t, twhat.clone());
            let id = test_head(&mut t, out);
            let result = t.f("result", Kind::Word);
            match ty.as_str() {
                "valid" => {
                    assert_eq!(result, "valid", "{twhat}");
                    let mut line = vec![s("record_valid"), id.clone(), t.f("hex", Kind::Hex)];
                    line.extend(record_fields(t.get("fields"), &format!("{twhat}.fields")));
                    out.line(&line);
                    if t.has("decoded") {
                        let mut line = vec![s("record_decoded"), id];
                        line.extend(record_fields(t.get("decoded"), &format!("{twhat}.decoded")));
                        out.line(&line);
                    }
                }
                "invalid" => {
                    assert_eq!(result, "invalid", "{twhat}");
                    out.line(&[
                        s("record_invalid"),
                        id,
                        t.f("hex", Kind::Hex),
                        t.f("error", Kind::Word),
                    ]);
                }
                other => panic!("{what}: unknown records group {other}"),
            }
            t.done();
        }
        g.done();
    }
    sec.done();
}

fn sequences_section(out: &mut Out, v: &Value) {
    for (si, q) in arr(v, "sequences").iter().enumerate() {
        let what = format!("sequences[{si}]");
        let mut q = Obj::new(q, what.clone());
        let id = test_head(&mut q, out);
        let steps = arr(q.get("steps"), &what);
        out.line(&[s("sequence"), id.clone(), steps.len().to_string()]);
        keyring(out, q.get("keyring"), &format!("{what}.keyring"));
        policy(out, q.get("policy"), &format!("{what}.policy"));
        let mut r = Obj::new(q.get("initial_record"), format!("{what}.initial_record"));
        let mut line = vec![s("initial_record"), r.f("hex", Kind::Hex)];
        line.extend(record_fields(
            r.get("fields"),
            &format!("{what}.initial_record.fields"),
        ));
        r.done();
        out.line(&line);
        for (i, st) in steps.iter().enumerate() {
            let swhat = format!("{what}.steps[{i}]");
            let mut st = Obj::new(st, swhat.clone());
            st.skip(&["comment"]);
            let mut line = vec![
                s("step"),
                id.clone(),
                i.to_string(),
                st.f("kind", Kind::Word),
                st.f("token", Kind::Text),
                st.f("now_ms", Kind::Dec),
                st.f("user_agent", Kind::Text),
                st.f("ip", Kind::Text),
            ];
            let ewhat = format!("{swhat}.expect");
            let mut e = Obj::new(st.get("expect"), ewhat.clone());
            line.push(e.f("verdict", Kind::Word));
            line.push(e.f("clear_cookie", Kind::Bool));
            line.extend(binding_match(e.get("binding"), &format!("{ewhat}.binding")));
            line.push(e.f("token_out", Kind::Text));
            line.push(e.f("record_out", Kind::Hex));
            line.extend(details(e.get("details"), &format!("{ewhat}.details")));
            e.done();
            st.done();
            out.line(&line);
        }
        q.done();
    }
}

fn sessions_section(out: &mut Out, v: &Value) {
    for (si, q) in arr(v, "sessions").iter().enumerate() {
        let what = format!("sessions[{si}]");
        let mut q = Obj::new(q, what.clone());
        let id = test_head(&mut q, out);
        let steps = arr(q.get("steps"), &what);
        out.line(&[s("sessions"), id.clone(), steps.len().to_string()]);
        keyring(out, q.get("keyring"), &format!("{what}.keyring"));
        policy(out, q.get("policy"), &format!("{what}.policy"));
        for (i, st) in steps.iter().enumerate() {
            let swhat = format!("{what}.steps[{i}]");
            let mut st = Obj::new(st, swhat.clone());
            st.skip(&["comment"]);
            let op = st.f("op", Kind::Word);
            let ewhat = format!("{swhat}.expect");
            let mut line = vec![op.clone(), id.clone(), i.to_string()];
            match op.as_str() {
                "request" => {
                    for (key, kind) in [
                        ("cookie", Kind::Text),
                        ("kind", Kind::Word),
                        ("now_ms", Kind::Dec),
                        ("user_agent", Kind::Text),
                        ("ip", Kind::Text),
                        ("new_session_id", Kind::Hex),
                    ] {
                        line.push(st.f(key, kind));
                    }
                    let mut e = Obj::new(st.get("expect"), ewhat.clone());
                    line.push(e.f("outcome", Kind::Word));
                    line.push(e.f("verdict", Kind::Word));
                    line.push(e.f("clear_cookie", Kind::Bool));
                    line.extend(binding_match(e.get("binding"), &format!("{ewhat}.binding")));
                    line.push(e.f("token_out", Kind::Text));
                    line.extend(details(e.get("details"), &format!("{ewhat}.details")));
                    line.extend(view(e.get("view"), &format!("{ewhat}.view")));
                    let event = e.get("event");
                    if event.is_null() {
                        line.extend([s("-"), s("-")]);
                    } else {
                        let mut ev = Obj::new(event, format!("{ewhat}.event"));
                        line.push(ev.f("log_id", Kind::Word));
                        line.push(ev.f("at_ms", Kind::Dec));
                        ev.done();
                    }
                    e.done();
                }
                "login" => {
                    for (key, kind) in [
                        ("cookie", Kind::Text),
                        ("new_session_id", Kind::Hex),
                        ("subject", Kind::Hex),
                        ("now_ms", Kind::Dec),
                        ("user_agent", Kind::Text),
                        ("ip", Kind::Text),
                    ] {
                        line.push(st.f(key, kind));
                    }
                    let mut e = Obj::new(st.get("expect"), ewhat.clone());
                    if e.has("error") {
                        line.push(e.f("error", Kind::Word));
                        line.push(s("-"));
                        line.extend(view(&Value::Null, &ewhat));
                    } else {
                        line.push(s("-"));
                        line.push(e.f("token_out", Kind::Text));
                        line.extend(view(e.get("view"), &format!("{ewhat}.view")));
                    }
                    e.done();
                }
                "logout" => {
                    line.push(st.f("cookie", Kind::Text));
                    line.push(st.f("now_ms", Kind::Dec));
                    let mut e = Obj::new(st.get("expect"), ewhat.clone());
                    line.push(e.f("log_id", Kind::Word));
                    e.done();
                }
                "revoke_all" => {
                    line.push(st.f("subject", Kind::Hex));
                    line.push(st.f("now_ms", Kind::Dec));
                    let mut e = Obj::new(st.get("expect"), ewhat.clone());
                    line.push(e.f("count", Kind::Dec));
                    e.done();
                }
                other => panic!("{swhat}: unknown op {other}"),
            }
            st.done();
            out.line(&line);
        }
        q.done();
    }
}

/// The line file for the vectors JSON text `json` (what [`crate::generate`] returns).
///
/// # Panics
/// When `json` is not the vectors file, or holds a field this module does not carry over.
pub fn from_json(json: &str) -> String {
    let file: Value = serde_json::from_str(json).expect("the vectors JSON parses");
    let mut f = Obj::new(&file, "file");
    let mut out = Out {
        text: String::new(),
    };
    let _ = writeln!(
        out.text,
        "# rolltoken-v1.txt: the golden vectors of rolltoken-v1.json as lines, for checkers without a JSON parser."
    );
    let _ = writeln!(
        out.text,
        "# Generated by vectors/gen (cargo run -p rolltoken-vectors); do not edit. Format: vectors/README.md."
    );
    f.skip(&["schema", "header", "notes", "fields"]);
    let mut word = |key: &'static str| {
        let w = f
            .get(key)
            .as_str()
            .unwrap_or_else(|| panic!("file.{key}: not a string"))
            .to_owned();
        assert!(
            !w.is_empty() && !w.contains(char::is_whitespace),
            "file.{key}: not one word"
        );
        w
    };
    let algorithm = word("algorithm");
    let generator = word("generatorVersion");
    let tests = f.f("numberOfTests", Kind::Dec);
    out.line(&[s("vectors"), algorithm, generator, tests]);
    keys_section(&mut out, f.get("keys"));
    tokens_section(&mut out, f.get("tokens"));
    records_section(&mut out, f.get("records"));
    sequences_section(&mut out, f.get("sequences"));
    sessions_section(&mut out, f.get("sessions"));
    f.done();
    out.line(&[s("end")]);
    out.text
}
