//! Metric aggregations of SigNoz v5 as the catalogue writes them: `time/space` (`rate/sum`,
//! `avg/max`) or a histogram percentile alone (`p99`), parsed into types that hold only the
//! values SigNoz accepts (`SigNoz/signoz` v0.138 `pkg/types/metrictypes/metrictypes.go`).

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time aggregation of SigNoz v5 (`metrictypes.TimeAggregation`,
/// `SigNoz/signoz` `pkg/types/metrictypes/metrictypes.go`, v0.138).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeAggregation {
    Latest,
    Sum,
    Avg,
    Min,
    Max,
    Count,
    CountDistinct,
    Rate,
    Increase,
}

/// A space aggregation of SigNoz v5 (`metrictypes.SpaceAggregation`); percentiles apply to
/// histograms only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceAggregation {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    P50,
    P75,
    P90,
    P95,
    P99,
}

impl TimeAggregation {
    const ALL: [(TimeAggregation, &'static str); 9] = [
        (TimeAggregation::Latest, "latest"),
        (TimeAggregation::Sum, "sum"),
        (TimeAggregation::Avg, "avg"),
        (TimeAggregation::Min, "min"),
        (TimeAggregation::Max, "max"),
        (TimeAggregation::Count, "count"),
        (TimeAggregation::CountDistinct, "count_distinct"),
        (TimeAggregation::Rate, "rate"),
        (TimeAggregation::Increase, "increase"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, s)| *s)
            .unwrap_or("avg")
    }

    fn parse(s: &str) -> Option<TimeAggregation> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(t, _)| *t)
    }
}

impl SpaceAggregation {
    const ALL: [(SpaceAggregation, &'static str); 10] = [
        (SpaceAggregation::Sum, "sum"),
        (SpaceAggregation::Avg, "avg"),
        (SpaceAggregation::Min, "min"),
        (SpaceAggregation::Max, "max"),
        (SpaceAggregation::Count, "count"),
        (SpaceAggregation::P50, "p50"),
        (SpaceAggregation::P75, "p75"),
        (SpaceAggregation::P90, "p90"),
        (SpaceAggregation::P95, "p95"),
        (SpaceAggregation::P99, "p99"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, s)| *s)
            .unwrap_or("avg")
    }

    fn parse(s: &str) -> Option<SpaceAggregation> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(t, _)| *t)
    }

    pub fn is_percentile(self) -> bool {
        matches!(
            self,
            SpaceAggregation::P50
                | SpaceAggregation::P75
                | SpaceAggregation::P90
                | SpaceAggregation::P95
                | SpaceAggregation::P99
        )
    }
}

/// `time/space` (e.g. `rate/sum`, `avg/max`), or a space aggregation alone (`p99`) for a
/// histogram, whose time aggregation SigNoz chooses itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregation {
    pub time: Option<TimeAggregation>,
    pub space: SpaceAggregation,
}

impl Aggregation {
    pub const fn new(time: TimeAggregation, space: SpaceAggregation) -> Aggregation {
        Aggregation {
            time: Some(time),
            space,
        }
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.time {
            Some(t) => write!(f, "{}/{}", t.as_str(), self.space.as_str()),
            None => f.write_str(self.space.as_str()),
        }
    }
}

impl std::str::FromStr for Aggregation {
    type Err = String;

    fn from_str(s: &str) -> Result<Aggregation, String> {
        let s = s.trim().to_ascii_lowercase();
        let (time, space) = match s.split_once('/') {
            Some((t, sp)) => {
                let time = TimeAggregation::parse(t.trim()).ok_or_else(|| {
                    format!(
                        "unknown time aggregation `{}` (one of: {})",
                        t.trim(),
                        names(TimeAggregation::ALL.iter().map(|(_, n)| *n))
                    )
                })?;
                (Some(time), sp.trim())
            }
            None => (None, s.as_str()),
        };
        let space = SpaceAggregation::parse(space).ok_or_else(|| {
            format!(
                "unknown space aggregation `{space}` (one of: {})",
                names(SpaceAggregation::ALL.iter().map(|(_, n)| *n))
            )
        })?;
        if time.is_none() && !space.is_percentile() {
            return Err(format!(
                "aggregation `{s}` needs a time aggregation, e.g. `avg/{s}`"
            ));
        }
        Ok(Aggregation { time, space })
    }
}

fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

impl Serialize for Aggregation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Aggregation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Aggregation, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregation_strings() {
        let a: Aggregation = "rate/sum".parse().expect("rate/sum");
        assert_eq!(
            a,
            Aggregation::new(TimeAggregation::Rate, SpaceAggregation::Sum)
        );
        assert_eq!(a.to_string(), "rate/sum");
        let p: Aggregation = "p99".parse().expect("p99");
        assert_eq!(p.time, None);
        assert!(
            "avg".parse::<Aggregation>().is_err(),
            "a gauge needs a time aggregation"
        );
        let err = "often/sum".parse::<Aggregation>().expect_err("unknown");
        assert!(err.contains("unknown time aggregation `often`"), "{err}");
        let err = "avg/median".parse::<Aggregation>().expect_err("unknown");
        assert!(err.contains("unknown space aggregation `median`"), "{err}");
    }
}
