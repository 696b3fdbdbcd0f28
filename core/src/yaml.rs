//! The YAML layer: serde-saphyr parses a file into a spanned node tree, and a serde
//! `Deserializer` over that tree decodes typed configuration.
//!
//! Why two steps instead of `serde_saphyr::from_str::<Config>`: the tree keeps the line and
//! column of every key and value, so a decoding error points at the innermost node that is
//! wrong, unknown keys become warnings at their own position (serde would either ignore them
//! or stop at the first), and list items can be decoded one by one so a bad device does not
//! hide the problems of the next one. See ARCHITECTURE.md, "YAML".

use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::diag::{Diagnostic, Level, Pos, Span};

/// One YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub pos: Pos,
    /// Byte range of the node's definition in the source, used to recover the exact text of
    /// a plain scalar that YAML resolved to a number or a boolean (`007`, `1e3`).
    raw: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn null() -> Node {
        Node {
            kind: Kind::Null,
            pos: Pos::FILE,
            raw: None,
        }
    }
    /// A node made in memory (no position), for the editor to write.
    pub fn of(kind: Kind) -> Node {
        Node {
            kind,
            ..Node::null()
        }
    }
    /// A string node made in memory.
    pub fn string(s: &str) -> Node {
        Node::of(Kind::Str(s.to_owned()))
    }
    /// A block mapping made in memory, its keys in the order given.
    pub fn mapping(fields: Vec<(&str, Node)>) -> Node {
        Node::of(Kind::Map(
            fields
                .into_iter()
                .map(|(k, v)| (Node::string(k), v))
                .collect(),
        ))
    }
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.kind, Kind::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }
    /// The items of a sequence; null counts as empty (`racks:` with nothing after it).
    pub fn seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(items) => Some(items),
            Kind::Null => Some(&[]),
            _ => None,
        }
    }
    pub fn describe(&self) -> &'static str {
        self.kind.describe()
    }
    /// The byte range of the node's definition in the source, when the parser reported one
    /// (the comment-keeping editor, `edit`, finds the text of a scalar with it).
    pub fn span(&self) -> Option<std::ops::Range<usize>> {
        let (o, l) = self.raw?;
        Some(o as usize..(o as usize).saturating_add(l as usize))
    }
}

impl Kind {
    pub fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: serde_saphyr::Spanned<Kind> = serde_saphyr::Spanned::deserialize(d)?;
        let def = s.defined.span();
        let raw = match (def.byte_offset(), def.byte_len()) {
            (Some(o), Some(l)) => Some((o as u32, l as u32)),
            _ => None,
        };
        let pos = Pos::new(s.referenced.line() as u32, s.referenced.column() as u32);
        Ok(Node {
            kind: s.value,
            pos,
            raw,
        })
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        Ok(i64::try_from(v)
            .map(Kind::Int)
            .unwrap_or(Kind::Float(v as f64)))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
        Ok(i64::try_from(v)
            .map(Kind::Int)
            .unwrap_or(Kind::Float(v as f64)))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Kind, E> {
        Ok(i64::try_from(v)
            .map(Kind::Int)
            .unwrap_or(Kind::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut items = Vec::with_capacity(a.size_hint().unwrap_or(0));
        while let Some(n) = a.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::with_capacity(a.size_hint().unwrap_or(0));
        while let Some(k) = a.next_key::<Node>()? {
            let v = a.next_value::<Node>()?;
            entries.push((k, v));
        }
        Ok(Kind::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

/// A YAML syntax error, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses one YAML document. An empty file (or one with only comments) is null.
pub fn parse(src: &str) -> Result<Node, SyntaxError> {
    if src.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    }) {
        return Ok(Node::null());
    }
    let mut opts = serde_saphyr::options::Options::default();
    // YAML 1.2 booleans: an instance called `no` or `on` stays a string.
    opts.strict_booleans = true;
    opts.with_snippet = false;
    serde_saphyr::from_str_with_options::<Node>(src, opts).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos::new(l.line() as u32, l.column() as u32))
            .unwrap_or(Pos::new(1, 1));
        SyntaxError {
            pos,
            message: clean_message(&e.to_string()),
        }
    })
}

/// serde-saphyr prefixes messages with the position (we print our own) and sometimes
/// appends advice about its Rust options, which means nothing to an operator.
fn clean_message(msg: &str) -> String {
    let mut m = msg.trim();
    if let Some(rest) = m.strip_prefix("error: ") {
        m = rest;
    }
    if m.starts_with("line ")
        && let Some(i) = m.find(": ")
    {
        m = &m[i + 2..];
    }
    let m = m.lines().next().unwrap_or(m);
    let m = m.split(", set DuplicateKeyPolicy").next().unwrap_or(m);
    // The position is printed by the caller; drop the copy inside the message.
    let m = match m.rfind(" at line ") {
        Some(i) if m[i..].contains("column") => &m[..i],
        _ => m,
    };
    m.to_string()
}

// ---------------------------------------------------------------------------------------
// Decoding the tree into typed values.

/// What decoding needs besides the node: the source text (to recover raw scalars), the file
/// (for warnings) and a sink for unknown-key warnings.
pub struct Ctx<'a> {
    pub src: &'a str,
    pub file: &'a Arc<Path>,
    pub warnings: RefCell<Vec<Diagnostic>>,
}

impl<'a> Ctx<'a> {
    pub fn new(src: &'a str, file: &'a Arc<Path>) -> Ctx<'a> {
        Ctx {
            src,
            file,
            warnings: RefCell::new(Vec::new()),
        }
    }
    pub fn take_warnings(&self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.warnings.borrow_mut())
    }
    fn raw<'n>(&self, node: &'n Node) -> Option<&'a str> {
        let (o, l) = node.raw?;
        self.src.get(o as usize..(o + l) as usize).map(str::trim)
    }
}

/// A decoding error with the position of the innermost node it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub message: String,
    pub pos: Option<Pos>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            pos: None,
        }
    }
}

impl DeError {
    fn at(mut self, pos: Pos) -> Self {
        if self.pos.is_none() {
            self.pos = Some(pos);
        }
        self
    }
    pub fn into_diagnostic(self, file: &Arc<Path>, fallback: Pos) -> Diagnostic {
        Diagnostic {
            level: Level::Error,
            code: "type",
            span: Span::new(file, self.pos.unwrap_or(fallback)),
            message: self.message,
        }
    }
}

/// Decodes a node into `T`.
pub fn decode<T: DeserializeOwned>(node: &Node, ctx: &Ctx<'_>) -> Result<T, DeError> {
    T::deserialize(NodeDe { node, ctx }).map_err(|e| e.at(node.pos))
}

/// A value together with the position of the node it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Located<T> {
    pub fn new(value: T, pos: Pos) -> Located<T> {
        Located { value, pos }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

const LOCATED: &str = "__rackscope_located";

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Located<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a located value")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Located<T>, A::Error> {
                let line: u32 = a
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("missing line"))?;
                let col: u32 = a
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("missing column"))?;
                let value: T = a
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("missing value"))?;
                Ok(Located {
                    value,
                    pos: Pos::new(line, col),
                })
            }
            // Other deserializers (figment's, for environment overrides) have no positions.
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Located<T>, D::Error> {
                Ok(Located {
                    value: T::deserialize(d)?,
                    pos: Pos::FILE,
                })
            }
        }
        d.deserialize_newtype_struct(LOCATED, V(std::marker::PhantomData))
    }
}

impl<T: Serialize> Serialize for Located<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

struct NodeDe<'a, 'c> {
    node: &'a Node,
    ctx: &'a Ctx<'c>,
}

impl<'a, 'c> NodeDe<'a, 'c> {
    fn invalid(&self, expected: &str) -> DeError {
        let found = match &self.node.kind {
            Kind::Str(s) => format!("string \"{}\"", truncate(s)),
            Kind::Int(i) => format!("integer {i}"),
            Kind::Float(f) => format!("number {f}"),
            Kind::Bool(b) => format!("boolean {b}"),
            other => other.describe().to_string(),
        };
        DeError {
            message: format!("expected {expected}, found {found}"),
            pos: Some(self.node.pos),
        }
    }

    /// The text of a scalar, whatever YAML resolved it to: `id: 007` is the string "007".
    fn scalar_text(&self) -> Option<std::borrow::Cow<'a, str>> {
        match &self.node.kind {
            Kind::Str(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
            Kind::Int(i) => Some(
                self.ctx
                    .raw(self.node)
                    .map(std::borrow::Cow::Borrowed)
                    .unwrap_or_else(|| i.to_string().into()),
            ),
            Kind::Float(f) => Some(
                self.ctx
                    .raw(self.node)
                    .map(std::borrow::Cow::Borrowed)
                    .unwrap_or_else(|| f.to_string().into()),
            ),
            Kind::Bool(b) => Some(
                self.ctx
                    .raw(self.node)
                    .map(std::borrow::Cow::Borrowed)
                    .unwrap_or_else(|| b.to_string().into()),
            ),
            _ => None,
        }
    }

    fn int(&self) -> Result<i64, DeError> {
        match &self.node.kind {
            Kind::Int(i) => Ok(*i),
            Kind::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
            Kind::Str(s) => s.trim().parse().map_err(|_| self.invalid("an integer")),
            _ => Err(self.invalid("an integer")),
        }
    }

    fn float(&self) -> Result<f64, DeError> {
        match &self.node.kind {
            Kind::Int(i) => Ok(*i as f64),
            Kind::Float(f) => Ok(*f),
            Kind::Str(s) => s.trim().parse().map_err(|_| self.invalid("a number")),
            _ => Err(self.invalid("a number")),
        }
    }

    fn warn_unknown_keys(&self, fields: &'static [&'static str]) {
        let Kind::Map(entries) = &self.node.kind else {
            return;
        };
        for (k, _) in entries {
            let Kind::Str(key) = &k.kind else { continue };
            if fields.contains(&key.as_str()) {
                continue;
            }
            let hint = match crate::util::closest(key, fields.iter().copied()) {
                Some(c) => format!("; did you mean `{c}`?"),
                None => format!("; known keys: {}", fields.join(", ")),
            };
            self.ctx.warnings.borrow_mut().push(Diagnostic {
                level: Level::Warning,
                code: "unknown-key",
                span: Span::new(self.ctx.file, k.pos),
                message: format!("unknown key `{key}` is ignored{hint}"),
            });
        }
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

macro_rules! int_methods {
    ($($m:ident $v:ident $t:ty),*) => {$(
        fn $m<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let i = self.int()?;
            let n = <$t>::try_from(i).map_err(|_| DeError {
                message: format!("{i} is out of range (expected {})", stringify!($t)),
                pos: Some(self.node.pos),
            })?;
            v.$v::<DeError>(n).map_err(|e| e.at(self.node.pos))
        }
    )*};
}

impl<'de, 'a, 'c> Deserializer<'de> for NodeDe<'a, 'c> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let pos = self.node.pos;
        let r = match &self.node.kind {
            Kind::Null => v.visit_unit::<DeError>(),
            Kind::Bool(b) => v.visit_bool::<DeError>(*b),
            Kind::Int(i) => v.visit_i64::<DeError>(*i),
            Kind::Float(f) => v.visit_f64::<DeError>(*f),
            Kind::Str(s) => v.visit_str::<DeError>(s),
            Kind::Seq(items) => v.visit_seq(SeqDe {
                items: items.iter(),
                ctx: self.ctx,
            }),
            Kind::Map(entries) => v.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
                ctx: self.ctx,
            }),
        };
        r.map_err(|e| e.at(pos))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let b = match &self.node.kind {
            Kind::Bool(b) => *b,
            // YAML 1.1 spellings, which configurations written for PyYAML use.
            Kind::Str(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => true,
                "false" | "no" | "off" => false,
                _ => return Err(self.invalid("a boolean")),
            },
            _ => return Err(self.invalid("a boolean")),
        };
        v.visit_bool::<DeError>(b).map_err(|e| e.at(self.node.pos))
    }

    int_methods!(deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32, deserialize_i64 visit_i64 i64,
                 deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16, deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64);

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(v)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let f = self.float()?;
        v.visit_f64::<DeError>(f).map_err(|e| e.at(self.node.pos))
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.scalar_text() {
            Some(s) => v.visit_str::<DeError>(&s).map_err(|e| e.at(self.node.pos)),
            None => Err(self.invalid("a string")),
        }
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.node.kind {
            Kind::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_any(v)
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _n: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_any(v)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        if name == LOCATED {
            return v.visit_seq(LocatedSeq {
                node: self.node,
                ctx: self.ctx,
                step: 0,
            });
        }
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Seq(items) => v
                .visit_seq(SeqDe {
                    items: items.iter(),
                    ctx: self.ctx,
                })
                .map_err(|e| e.at(self.node.pos)),
            // `checks:` with nothing after it is an empty list, not a type error.
            Kind::Null => v.visit_seq(SeqDe {
                items: [].iter(),
                ctx: self.ctx,
            }),
            _ => Err(self.invalid("a list")),
        }
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _n: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Map(entries) => v
                .visit_map(MapDe {
                    entries: entries.iter(),
                    value: None,
                    ctx: self.ctx,
                })
                .map_err(|e| e.at(self.node.pos)),
            Kind::Null => v.visit_map(MapDe {
                entries: [].iter(),
                value: None,
                ctx: self.ctx,
            }),
            _ => Err(self.invalid("a mapping")),
        }
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _n: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Map(_) | Kind::Null => {
                self.warn_unknown_keys(fields);
                self.deserialize_map(v)
            }
            _ => Err(self.invalid("a mapping")),
        }
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _n: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match self.scalar_text() {
            Some(s) => {
                let d: de::value::StrDeserializer<'_, DeError> = s.as_ref().into_deserializer();
                v.visit_enum(d).map_err(|e| e.at(self.node.pos))
            }
            None => Err(self.invalid("one of the allowed words")),
        }
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

struct SeqDe<'a, 'c> {
    items: std::slice::Iter<'a, Node>,
    ctx: &'a Ctx<'c>,
}

impl<'de, 'a, 'c> de::SeqAccess<'de> for SeqDe<'a, 'c> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(NodeDe {
                    node,
                    ctx: self.ctx,
                })
                .map(Some)
                .map_err(|e| e.at(node.pos)),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a, 'c> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
    ctx: &'a Ctx<'c>,
}

impl<'de, 'a, 'c> de::MapAccess<'de> for MapDe<'a, 'c> {
    type Error = DeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(NodeDe {
                    node: k,
                    ctx: self.ctx,
                })
                .map(Some)
                .map_err(|e| e.at(k.pos))
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("value requested before key"))?;
        seed.deserialize(NodeDe {
            node,
            ctx: self.ctx,
        })
        .map_err(|e| e.at(node.pos))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// Feeds `Located<T>`'s visitor the line, the column, then the value itself.
struct LocatedSeq<'a, 'c> {
    node: &'a Node,
    ctx: &'a Ctx<'c>,
    step: u8,
}

impl<'de, 'a, 'c> de::SeqAccess<'de> for LocatedSeq<'a, 'c> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        self.step += 1;
        match self.step {
            1 => seed
                .deserialize(self.node.pos.line.into_deserializer())
                .map(Some),
            2 => seed
                .deserialize(self.node.pos.col.into_deserializer())
                .map(Some),
            3 => seed
                .deserialize(NodeDe {
                    node: self.node,
                    ctx: self.ctx,
                })
                .map(Some),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<Path> {
        Arc::from(Path::new("t.yaml"))
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Dev {
        id: Located<String>,
        #[serde(default)]
        u: Option<u32>,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[test]
    fn positions_of_values_and_unknown_keys() {
        let src = "id: 007\nu: 4\nfce: front\ntags: [a, 'b']\n";
        let f = file();
        let ctx = Ctx::new(src, &f);
        let n = parse(src).unwrap();
        let d: Dev = decode(&n, &ctx).unwrap();
        assert_eq!(d.id.value, "007");
        assert_eq!(d.id.pos, Pos::new(1, 5));
        assert_eq!(d.u, Some(4));
        let w = ctx.take_warnings();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].span.pos, Pos::new(3, 1));
        assert!(w[0].message.contains("`fce`"), "{}", w[0].message);
    }

    #[test]
    fn type_error_points_at_innermost_node() {
        let src = "id: x\nu: [1]\n";
        let f = file();
        let ctx = Ctx::new(src, &f);
        let e = decode::<Dev>(&parse(src).unwrap(), &ctx).unwrap_err();
        assert_eq!(e.pos, Some(Pos::new(2, 4)));
        assert!(e.message.contains("expected an integer"), "{}", e.message);
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let src = "list:\n  - u: 1\n";
        let f = file();
        let ctx = Ctx::new(src, &f);
        let n = parse(src).unwrap();
        let item = &n.get("list").unwrap().seq().unwrap()[0];
        let e = decode::<Dev>(item, &ctx).unwrap_err();
        assert_eq!(e.pos, Some(Pos::new(2, 5)));
        assert_eq!(e.message, "missing field `id`");
    }

    #[test]
    fn syntax_and_duplicate_keys() {
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.pos, Pos::new(2, 1));
        assert!(e.message.contains("duplicate"), "{}", e.message);
        let e = parse("a: [1\nb: 2\n").unwrap_err();
        assert_eq!(e.pos.line, 2);
    }

    #[test]
    fn yaml_1_2_booleans_and_empty_files() {
        let n = parse("a: no\nb: true\n").unwrap();
        assert_eq!(n.get("a").unwrap().kind, Kind::Str("no".into()));
        assert_eq!(n.get("b").unwrap().kind, Kind::Bool(true));
        assert!(parse("# nothing\n\n").unwrap().is_null());
    }
}
