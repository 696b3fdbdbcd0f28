//! Prometheus's JSON envelope decoded straight into `Sample`s and `RangeSeries` by serde
//! visitors, which count series, points and labels as they go and stop at the first one
//! past the `Limits`.
//!
//! Nothing is decoded into an intermediate tree (`serde_json::Value`, a map per series, or
//! serde's buffered content for an adjacently tagged enum): those cost about 25 times the
//! body, and a refused answer would have been built whole before being counted. The one
//! order serde cannot stream is `result` before `resultType` (Prometheus writes the type
//! first); then the result is skipped, and the body, which is in memory anyway, is decoded
//! a second time with the type known.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{
    InstantResult, Labels, Limits, MAX_WARNINGS, RangeResult, RangeSeries, Sample, SourceError,
    bounded_warnings, clip, clip_bytes,
};

/// Decodes the answer to `/api/v1/query`.
pub fn decode_instant(
    status: u16,
    body: &[u8],
    limits: &Limits,
) -> Result<InstantResult, SourceError> {
    match decode(status, body, limits, Mode::Instant)? {
        (Decoded::Samples(samples), warnings) => Ok(InstantResult { samples, warnings }),
        (Decoded::Series(_), _) => Err(SourceError::Decode(
            "a matrix where a vector was expected".into(),
        )),
    }
}

/// Decodes the answer to `/api/v1/query_range`.
pub fn decode_range(status: u16, body: &[u8], limits: &Limits) -> Result<RangeResult, SourceError> {
    match decode(status, body, limits, Mode::Range)? {
        (Decoded::Series(series), warnings) => Ok(RangeResult { series, warnings }),
        (Decoded::Samples(_), _) => Err(not_a_matrix()),
    }
}

/// Which query the answer is for: an instant query keeps one value per series, a range
/// query every point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Instant,
    Range,
}

/// `data.resultType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vector,
    Matrix,
    Scalar,
    String,
}

enum Decoded {
    Samples(Vec<Sample>),
    Series(Vec<RangeSeries>),
}

fn not_a_matrix() -> SourceError {
    SourceError::Decode("a range query answered with something other than a matrix".into())
}

fn decode(
    status: u16,
    body: &[u8],
    limits: &Limits,
    mode: Mode,
) -> Result<(Decoded, Vec<String>), SourceError> {
    if body.len() as u64 > limits.max_response_bytes {
        return Err(SourceError::too_many_bytes(limits.max_response_bytes));
    }
    let mut env = parse(status, body, limits, mode, None)?;
    if env.result_skipped
        && let Some(kind) = env.kind
    {
        env = parse(status, body, limits, mode, Some(kind))?;
    }
    let warnings = bounded_warnings(env.warnings, env.dropped_warnings);
    match env.success {
        Some(true) => {}
        Some(false) => {
            return Err(SourceError::Api {
                status,
                error_type: env.error_type.unwrap_or_else(|| "unknown".into()),
                error: env.error.unwrap_or_default(),
                warnings,
            });
        }
        None => return Err(not_prometheus(status, body, "an answer without `status`")),
    }
    if !env.data {
        return Err(SourceError::Decode("a success without `data`".into()));
    }
    if env.kind.is_none() {
        return Err(SourceError::Decode("`data` without `resultType`".into()));
    }
    match env.result {
        Some(r) => Ok((r, warnings)),
        None => Err(SourceError::Decode("`data` without `result`".into())),
    }
}

/// The body is not Prometheus's JSON: a proxy's error page, or a server that is not
/// Prometheus.
fn not_prometheus(status: u16, body: &[u8], why: &str) -> SourceError {
    if status >= 400 {
        SourceError::http(status, body)
    } else {
        SourceError::Decode(clip(&format!("{why} in `{}`", clip_bytes(body))))
    }
}

fn parse(
    status: u16,
    body: &[u8],
    limits: &Limits,
    mode: Mode,
    known: Option<Kind>,
) -> Result<Envelope, SourceError> {
    let mut state = State {
        limits: *limits,
        mode,
        series: 0,
        points: 0,
        labels: 0,
        failure: None,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let out = EnvelopeSeed {
        state: &mut state,
        known,
    }
    .deserialize(&mut de)
    .and_then(|env| de.end().map(|()| env));
    out.map_err(|e| match state.failure.take() {
        Some(ours) => ours,
        None => not_prometheus(status, body, &clip(&e.to_string())),
    })
}

/// The counters of one decoding, shared by every visitor, and the first failure that is
/// ours rather than serde's (a cap, a refused result type): it reaches the caller as
/// itself, not as a JSON error with a position.
struct State {
    limits: Limits,
    mode: Mode,
    series: usize,
    points: usize,
    labels: usize,
    failure: Option<SourceError>,
}

impl State {
    fn fail<E: de::Error>(&mut self, e: SourceError) -> E {
        let msg = e.to_string();
        self.failure.get_or_insert(e);
        E::custom(msg)
    }

    fn add_series<E: de::Error>(&mut self) -> Result<(), E> {
        self.series += 1;
        if self.series > self.limits.max_series {
            let max = self.limits.max_series;
            return Err(self.fail(SourceError::TooLarge(format!(
                "more than {max} series; raise telemetry.max_series_per_answer or narrow the query"
            ))));
        }
        Ok(())
    }

    fn add_point<E: de::Error>(&mut self) -> Result<(), E> {
        self.points += 1;
        if self.points > self.limits.max_points {
            let max = self.limits.max_points;
            return Err(self.fail(SourceError::TooLarge(format!(
                "more than {max} points; raise telemetry.max_points_per_answer, choose a larger step or narrow the query"
            ))));
        }
        Ok(())
    }

    fn add_label<E: de::Error>(&mut self) -> Result<(), E> {
        self.labels += 1;
        if self.labels > self.limits.max_labels() {
            let max = self.limits.max_labels();
            return Err(self.fail(SourceError::TooLarge(format!(
                "more than {max} labels ({} per series allowed by telemetry.max_series_per_answer); narrow the query",
                super::LABELS_PER_SERIES
            ))));
        }
        Ok(())
    }
}

/// What the envelope said.
#[derive(Default)]
struct Envelope {
    success: Option<bool>,
    error_type: Option<String>,
    error: Option<String>,
    warnings: Vec<String>,
    dropped_warnings: usize,
    data: bool,
    kind: Option<Kind>,
    result: Option<Decoded>,
    result_skipped: bool,
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum EnvelopeField {
    #[serde(rename = "status")]
    Status,
    #[serde(rename = "data")]
    Data,
    #[serde(rename = "errorType")]
    ErrorType,
    #[serde(rename = "error")]
    Error,
    #[serde(rename = "warnings")]
    Warnings,
    #[serde(rename = "infos")]
    Infos,
    #[serde(other)]
    Other,
}

struct EnvelopeSeed<'s> {
    state: &'s mut State,
    known: Option<Kind>,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = Envelope;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = Envelope;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Prometheus API answer (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut env = Envelope::default();
        while let Some(key) = map.next_key::<EnvelopeField>()? {
            match key {
                EnvelopeField::Status => {
                    env.success = Some(map.next_value_seed(Clipped)? == "success");
                }
                EnvelopeField::ErrorType => env.error_type = Some(map.next_value_seed(Clipped)?),
                EnvelopeField::Error => env.error = Some(map.next_value_seed(Clipped)?),
                EnvelopeField::Warnings | EnvelopeField::Infos => {
                    map.next_value_seed(WarningsSeed {
                        kept: &mut env.warnings,
                        dropped: &mut env.dropped_warnings,
                    })?;
                }
                EnvelopeField::Data => {
                    let data = map.next_value_seed(DataSeed {
                        state: &mut *self.state,
                        known: self.known,
                    })?;
                    env.data = true;
                    env.kind = data.kind.or(env.kind);
                    env.result = data.result.or(env.result.take());
                    env.result_skipped |= data.skipped;
                }
                EnvelopeField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(env)
    }
}

/// A string, clipped to `MAX_UPSTREAM_TEXT` characters.
struct Clipped;

impl<'de> DeserializeSeed<'de> for Clipped {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Clipped {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(clip(v))
    }
}

/// `warnings` or `infos`: the first `MAX_WARNINGS` kept (clipped), the rest only counted.
struct WarningsSeed<'w> {
    kept: &'w mut Vec<String>,
    dropped: &'w mut usize,
}

impl<'de> DeserializeSeed<'de> for WarningsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for WarningsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of strings")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            if self.kept.len() < MAX_WARNINGS {
                match seq.next_element_seed(Clipped)? {
                    Some(w) => self.kept.push(w),
                    None => return Ok(()),
                }
            } else {
                match seq.next_element::<IgnoredAny>()? {
                    Some(_) => *self.dropped += 1,
                    None => return Ok(()),
                }
            }
        }
    }
}

struct DataOut {
    kind: Option<Kind>,
    result: Option<Decoded>,
    skipped: bool,
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum DataField {
    #[serde(rename = "resultType")]
    ResultType,
    #[serde(rename = "result")]
    Result,
    #[serde(other)]
    Other,
}

struct DataSeed<'s> {
    state: &'s mut State,
    known: Option<Kind>,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = DataOut;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<DataOut, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = DataOut;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`data`: an object with `resultType` and `result`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DataOut, A::Error> {
        let mut out = DataOut {
            kind: None,
            result: None,
            skipped: false,
        };
        while let Some(key) = map.next_key::<DataField>()? {
            match key {
                DataField::ResultType => {
                    let name = map.next_value_seed(Clipped)?;
                    out.kind = Some(self.state.kind(&name)?);
                }
                DataField::Result => match out.kind.or(self.known) {
                    Some(kind) => {
                        out.result = Some(map.next_value_seed(ResultSeed {
                            state: &mut *self.state,
                            kind,
                        })?);
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                        out.skipped = true;
                    }
                },
                DataField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

impl State {
    /// The result type, refused here when the query cannot use it, before its result is
    /// read.
    fn kind<E: de::Error>(&mut self, name: &str) -> Result<Kind, E> {
        let kind = match name {
            "vector" => Kind::Vector,
            "matrix" => Kind::Matrix,
            "scalar" => Kind::Scalar,
            "string" => Kind::String,
            other => {
                return Err(self.fail(SourceError::Decode(format!("unknown resultType `{other}`"))));
            }
        };
        match (self.mode, kind) {
            (Mode::Range, Kind::Matrix)
            | (Mode::Instant, Kind::Vector | Kind::Matrix | Kind::Scalar) => Ok(kind),
            (Mode::Range, _) => Err(self.fail(not_a_matrix())),
            (Mode::Instant, Kind::String) => Err(self.fail(SourceError::Decode(
                "the expression returns a string, not a number".into(),
            ))),
        }
    }
}

struct ResultSeed<'s> {
    state: &'s mut State,
    kind: Kind,
}

impl<'de> DeserializeSeed<'de> for ResultSeed<'_> {
    type Value = Decoded;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Decoded, D::Error> {
        match (self.kind, self.state.mode) {
            (Kind::Scalar, Mode::Instant) => {
                self.state.add_series()?;
                let (_, value) = PointSeed {
                    state: &mut *self.state,
                }
                .deserialize(d)?;
                Ok(Decoded::Samples(vec![Sample {
                    labels: Labels::default(),
                    value,
                }]))
            }
            (Kind::Vector | Kind::Matrix, _) => d.deserialize_seq(self),
            // Refused with the result type already; kept for a second pass.
            (_, _) => Err(self.state.fail(not_a_matrix())),
        }
    }
}

impl<'de> Visitor<'de> for ResultSeed<'_> {
    type Value = Decoded;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of series")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Decoded, A::Error> {
        let want = match (self.kind, self.state.mode) {
            (Kind::Vector, _) => Want::Value,
            (_, Mode::Instant) => Want::Last,
            (_, Mode::Range) => Want::All,
        };
        if want == Want::All {
            let mut series = Vec::new();
            while let Some(item) = seq.next_element_seed(ItemSeed {
                state: &mut *self.state,
                want,
            })? {
                series.push(RangeSeries {
                    labels: item.labels,
                    points: item.points,
                });
            }
            return Ok(Decoded::Series(series));
        }
        let mut samples = Vec::new();
        while let Some(item) = seq.next_element_seed(ItemSeed {
            state: &mut *self.state,
            want,
        })? {
            // A native-histogram sample has no `value`: no single number a rule could
            // compare, so it is skipped.
            if let Some(value) = item.value {
                samples.push(Sample {
                    labels: item.labels,
                    value,
                });
            }
        }
        Ok(Decoded::Samples(samples))
    }
}

/// What to keep of a series: a vector's `value`, a matrix's newest point (an instant query
/// over a range selector, `up[5m]`), or every point (a range query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Value,
    Last,
    All,
}

struct Item {
    labels: Labels,
    value: Option<f64>,
    points: Vec<(f64, f64)>,
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum ItemField {
    #[serde(rename = "metric")]
    Metric,
    #[serde(rename = "value")]
    Value,
    #[serde(rename = "values")]
    Values,
    #[serde(other)]
    Other,
}

struct ItemSeed<'s> {
    state: &'s mut State,
    want: Want,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = Item;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = Item;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a series: an object with `metric` and `value` or `values`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        self.state.add_series()?;
        let mut item = Item {
            labels: Labels::default(),
            value: None,
            points: Vec::new(),
        };
        while let Some(key) = map.next_key::<ItemField>()? {
            match (key, self.want) {
                (ItemField::Metric, _) => {
                    item.labels = map.next_value_seed(LabelsSeed {
                        state: &mut *self.state,
                    })?;
                }
                (ItemField::Value, Want::Value) => {
                    let (_, v) = map.next_value_seed(PointSeed {
                        state: &mut *self.state,
                    })?;
                    item.value = Some(v);
                }
                (ItemField::Values, Want::Last | Want::All) => {
                    let mut points = map.next_value_seed(PointsSeed {
                        state: &mut *self.state,
                        keep_all: self.want == Want::All,
                    })?;
                    item.value = points.last().map(|&(_, v)| v);
                    if self.want == Want::All {
                        points.shrink_to_fit();
                        item.points = points;
                    }
                }
                // `histogram(s)`, and `values` of a vector or `value` of a matrix.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(item)
    }
}

/// `metric`: the label set, sorted by name with the last of duplicate names kept (what a
/// map would give), each label counted.
struct LabelsSeed<'s> {
    state: &'s mut State,
}

impl<'de> DeserializeSeed<'de> for LabelsSeed<'_> {
    type Value = Labels;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Labels, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LabelsSeed<'_> {
    type Value = Labels;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a label set: an object of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
        let mut labels: Vec<(Box<str>, Box<str>)> = Vec::new();
        while let Some(name) = map.next_key::<Box<str>>()? {
            self.state.add_label()?;
            labels.push((name, map.next_value::<Box<str>>()?));
        }
        Ok(Labels::from_pairs(labels))
    }
}

/// `values`: points in time order; all kept for a range query, only the newest otherwise.
/// Every point counts against the cap either way.
struct PointsSeed<'s> {
    state: &'s mut State,
    keep_all: bool,
}

impl<'de> DeserializeSeed<'de> for PointsSeed<'_> {
    type Value = Vec<(f64, f64)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PointsSeed<'_> {
    type Value = Vec<(f64, f64)>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of points")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut points = Vec::new();
        while let Some(p) = seq.next_element_seed(PointSeed {
            state: &mut *self.state,
        })? {
            if !self.keep_all {
                points.clear();
            }
            points.push(p);
        }
        Ok(points)
    }
}

/// `[1700000000.123, "42"]`: a time and the value as a string (which may be NaN or ±Inf).
struct PointSeed<'s> {
    state: &'s mut State,
}

impl<'de> DeserializeSeed<'de> for PointSeed<'_> {
    type Value = (f64, f64);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(f64, f64), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PointSeed<'_> {
    type Value = (f64, f64);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a point: [time, \"value\"]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(f64, f64), A::Error> {
        self.state.add_point()?;
        let t = seq
            .next_element::<f64>()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let v = seq
            .next_element_seed(NumberSeed {
                state: &mut *self.state,
            })?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok((t, v))
    }
}

/// A sample value: a number written as a string.
struct NumberSeed<'s> {
    state: &'s mut State,
}

impl<'de> DeserializeSeed<'de> for NumberSeed<'_> {
    type Value = f64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for NumberSeed<'_> {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sample value as a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        v.parse::<f64>().map_err(|_| {
            self.state.fail(SourceError::Decode(format!(
                "sample value `{}` is not a number",
                clip(v)
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::telemetry::source::MAX_UPSTREAM_TEXT;

    fn limits(series: usize, points: usize) -> Limits {
        Limits {
            max_response_bytes: u64::MAX,
            max_series: series,
            max_points: points,
        }
    }

    /// An instant answer of `n` vector samples.
    fn vector(n: usize) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"metric":{{"instance":"n{i}"}},"value":[1,"{i}"]}}"#))
            .collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            items.join(",")
        )
    }

    /// A matrix of `series` series of `points` points each, `resultType` first or last.
    fn matrix(series: usize, points: usize, type_last: bool) -> String {
        let items: Vec<String> = (0..series)
            .map(|s| {
                let pts: Vec<String> = (0..points)
                    .map(|p| format!(r#"[{},"{}"]"#, 10 * p, s * 100 + p))
                    .collect();
                format!(
                    r#"{{"metric":{{"instance":"n{s}"}},"values":[{}]}}"#,
                    pts.join(",")
                )
            })
            .collect();
        let result = format!(r#""result":[{}]"#, items.join(","));
        let data = if type_last {
            format!(r#"{{{result},"resultType":"matrix"}}"#)
        } else {
            format!(r#"{{"resultType":"matrix",{result}}}"#)
        };
        format!(r#"{{"data":{data},"status":"success"}}"#)
    }

    fn too_large(e: &SourceError, key: &str) -> bool {
        matches!(e, SourceError::TooLarge(m) if m.contains(key)) && !e.is_unavailable()
    }

    #[test]
    fn series_past_the_cap_fail_with_the_setting_to_raise() {
        let body = vector(5);
        assert_eq!(
            decode_instant(200, body.as_bytes(), &limits(5, 100))
                .unwrap()
                .samples
                .len(),
            5
        );
        let e = decode_instant(200, body.as_bytes(), &limits(4, 100)).unwrap_err();
        assert!(too_large(&e, "more than 4 series"), "{e}");
        assert!(
            e.to_string().contains("telemetry.max_series_per_answer"),
            "{e}"
        );
    }

    #[test]
    fn points_count_in_every_mode() {
        let body = matrix(3, 4, false);
        let r = decode_range(200, body.as_bytes(), &limits(3, 12)).unwrap();
        assert_eq!(r.series.iter().map(|s| s.points.len()).sum::<usize>(), 12);
        let e = decode_range(200, body.as_bytes(), &limits(3, 11)).unwrap_err();
        assert!(too_large(&e, "telemetry.max_points_per_answer"), "{e}");
        // An instant query keeps only the newest point of a matrix, but reads them all.
        let r = decode_instant(200, body.as_bytes(), &limits(3, 12)).unwrap();
        assert_eq!(r.samples[2].value, 203.0);
        assert!(decode_instant(200, body.as_bytes(), &limits(3, 11)).is_err());
    }

    #[test]
    fn labels_are_bounded_through_the_series_cap() {
        let labels: Vec<String> = (0..=crate::telemetry::source::LABELS_PER_SERIES)
            .map(|i| format!(r#""l{i}":"""#))
            .collect();
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{{}}},"value":[1,"1"]}}]}}}}"#,
            labels.join(",")
        );
        let e = decode_instant(200, body.as_bytes(), &limits(1, 10)).unwrap_err();
        assert!(too_large(&e, "labels"), "{e}");
        assert!(decode_instant(200, body.as_bytes(), &limits(2, 10)).is_ok());
    }

    #[test]
    fn bytes_past_the_cap_are_refused_before_decoding() {
        let body = vector(3);
        let mut l = limits(10, 10);
        l.max_response_bytes = body.len() as u64 - 1;
        let e = decode_instant(200, body.as_bytes(), &l).unwrap_err();
        assert!(too_large(&e, "telemetry.max_response_bytes"), "{e}");
        l.max_response_bytes += 1;
        assert!(decode_instant(200, body.as_bytes(), &l).is_ok());
    }

    #[test]
    fn result_before_its_type_decodes_the_same_and_is_still_capped() {
        let first = matrix(4, 3, false);
        let last = matrix(4, 3, true);
        let l = limits(4, 12);
        assert_eq!(
            decode_range(200, first.as_bytes(), &l).unwrap(),
            decode_range(200, last.as_bytes(), &l).unwrap()
        );
        assert_eq!(
            decode_instant(200, first.as_bytes(), &l).unwrap(),
            decode_instant(200, last.as_bytes(), &l).unwrap()
        );
        let e = decode_range(200, last.as_bytes(), &limits(3, 12)).unwrap_err();
        assert!(too_large(&e, "series"), "{e}");
    }

    #[test]
    fn wrong_result_types_are_refused_before_the_result_is_read() {
        // The result is not even valid series: only the type could have refused it.
        let vector = br#"{"status":"success","data":{"resultType":"vector","result":[1,2,3]}}"#;
        let e = decode_range(200, vector, &Limits::default()).unwrap_err();
        assert!(
            matches!(&e, SourceError::Decode(m) if m.contains("other than a matrix")),
            "{e}"
        );
        let string = br#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#;
        let e = decode_instant(200, string, &Limits::default()).unwrap_err();
        assert!(
            matches!(&e, SourceError::Decode(m) if m.contains("a string")),
            "{e}"
        );
        let other = br#"{"status":"success","data":{"resultType":"table","result":[]}}"#;
        let e = decode_instant(200, other, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("unknown resultType `table`"), "{e}");
        let none = br#"{"status":"success","data":{"result":[]}}"#;
        let e = decode_instant(200, none, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("without `resultType`"), "{e}");
    }

    #[test]
    fn histograms_are_skipped_and_labels_read_as_a_map() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"job":"j","instance":"a","job":"k"},"value":[1,"1"]},
            {"metric":{"instance":"h"},"histogram":[1,{"count":"3","buckets":[[0,"1","2","3"]]}]}]}}"#;
        let r = decode_instant(200, body, &Limits::default()).unwrap();
        assert_eq!(r.samples.len(), 1);
        // Sorted by name, the last of a repeated name kept, as a map would.
        assert_eq!(
            r.samples[0].labels,
            Labels::from_iter([("instance", "a"), ("job", "k")])
        );
        let range = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"h"},"histograms":[[1,{"count":"3"}]]}]}}"#;
        let r = decode_range(200, range, &Limits::default()).unwrap();
        assert!(r.series[0].points.is_empty());
        assert!(
            decode_instant(200, range, &Limits::default())
                .unwrap()
                .samples
                .is_empty()
        );
    }

    #[test]
    fn malformed_points_are_decoding_errors() {
        for point in [
            r#"[1]"#,
            r#"[1,"2",3]"#,
            r#"["1","2"]"#,
            r#"[1,2]"#,
            r#"{}"#,
        ] {
            let body = format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"value":{point}}}]}}}}"#
            );
            let e = decode_instant(200, body.as_bytes(), &Limits::default()).unwrap_err();
            assert!(matches!(e, SourceError::Decode(_)), "{point}: {e}");
        }
        let huge = "9".repeat(100_000) + "x";
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"value":[1,"{huge}"]}}]}}}}"#
        );
        let e = decode_instant(200, body.as_bytes(), &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("is not a number"), "{e}");
        assert!(
            e.to_string().len() < 2 * MAX_UPSTREAM_TEXT,
            "{}",
            e.to_string().len()
        );
    }

    #[test]
    fn upstream_texts_are_clipped_everywhere() {
        let big = "é".repeat(3 * MAX_UPSTREAM_TEXT);
        let warnings: Vec<String> = (0..1000).map(|i| format!(r#""{i} {big}""#)).collect();
        let body = format!(
            r#"{{"status":"error","errorType":"{big}","error":"{big}\nline two","warnings":[{}],"infos":["{big}"]}}"#,
            warnings.join(",")
        );
        let e = decode_instant(422, body.as_bytes(), &Limits::default()).unwrap_err();
        let SourceError::Api {
            error_type,
            error,
            warnings,
            ..
        } = &e
        else {
            panic!("{e}")
        };
        for text in [error_type, error].into_iter().chain(warnings) {
            assert!(
                text.chars().count() <= MAX_UPSTREAM_TEXT + 40,
                "{}",
                text.len()
            );
        }
        assert!(error.ends_with("more bytes)"), "{error}");
        assert_eq!(warnings.len(), MAX_WARNINGS + 1);
        assert_eq!(warnings[MAX_WARNINGS], "… and 985 more warnings");

        // A success keeps the same bounds on its warnings.
        let ok = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[]}},"warnings":["{big}"]}}"#
        );
        let r = decode_instant(200, ok.as_bytes(), &Limits::default()).unwrap();
        assert!(r.warnings[0].chars().count() <= MAX_UPSTREAM_TEXT + 40);

        // Not JSON at all, with an error status and without.
        let page = format!("<html>{}</html>", "x".repeat(20_000_000));
        let e = decode_instant(401, page.as_bytes(), &Limits::default()).unwrap_err();
        assert!(
            e.to_string().len() < 2 * MAX_UPSTREAM_TEXT,
            "{}",
            e.to_string().len()
        );
        assert!(e.to_string().contains("more bytes)"), "{e}");
        let e = decode_instant(200, page.as_bytes(), &Limits::default()).unwrap_err();
        assert!(matches!(e, SourceError::Decode(_)), "{e}");
        assert!(
            e.to_string().len() < 2 * MAX_UPSTREAM_TEXT,
            "{}",
            e.to_string().len()
        );
    }

    /// A vector of `n` samples whose labels and values are arbitrary text.
    fn vector_of(texts: &[String]) -> String {
        let items: Vec<String> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let t = serde_json::to_string(t).unwrap();
                format!(r#"{{"metric":{{"instance":{t},"i":"{i}"}},"value":[1,"{i}"]}}"#)
            })
            .collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            items.join(",")
        )
    }

    proptest! {
        /// An answer within every cap decodes whole; past one, it is refused with the
        /// cap's setting, never decoded in part.
        #[test]
        fn caps_decide_exactly(series in 0usize..12, points in 0usize..6,
                               max_series in 1usize..12, max_points in 1usize..60,
                               type_last: bool) {
            let body = matrix(series, points, type_last);
            let l = limits(max_series, max_points);
            match decode_range(200, body.as_bytes(), &l) {
                Ok(r) => {
                    prop_assert!(series <= max_series && series * points <= max_points);
                    prop_assert_eq!(r.series.len(), series);
                    prop_assert!(r.series.iter().all(|s| s.points.len() == points));
                }
                Err(e) => {
                    prop_assert!(series > max_series || series * points > max_points, "{}", e);
                    prop_assert!(matches!(e, SourceError::TooLarge(_)), "{}", e);
                }
            }
        }

        /// Labels round-trip whatever their text (escapes, unicode), in the answer's order
        /// of series.
        #[test]
        fn label_text_round_trips(texts in proptest::collection::vec(any::<String>(), 0..8)) {
            let body = vector_of(&texts);
            let r = decode_instant(200, body.as_bytes(), &Limits::default()).unwrap();
            let got: Vec<&str> = r.samples.iter().map(|s| s.labels.get("instance").unwrap()).collect();
            prop_assert_eq!(got, texts.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}
