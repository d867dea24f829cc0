//! Metric series helpers: a series sorted by time with non-finite values dropped, its baseline,
//! peak, change point and growth. Nothing panics on empty series, NaN values or unsorted points.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// A metric series sorted by time with non-finite values dropped.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub points: Vec<(DateTime<Utc>, f64)>,
    pub labels: BTreeMap<String, String>,
}

impl Series {
    /// `None` when no finite point remains.
    pub fn new(points: impl Iterator<Item = (DateTime<Utc>, f64)>) -> Option<Series> {
        let mut points: Vec<_> = points.filter(|(_, v)| v.is_finite()).collect();
        if points.is_empty() {
            return None;
        }
        points.sort_by_key(|(t, _)| *t);
        Some(Series {
            points,
            labels: BTreeMap::new(),
        })
    }

    /// The first of `keys` present in the series' labels.
    pub fn label(&self, keys: &[&str]) -> Option<&str> {
        keys.iter()
            .find_map(|k| self.labels.get(*k))
            .map(String::as_str)
    }
    pub fn first(&self) -> f64 {
        self.points.first().map(|p| p.1).unwrap_or(0.0)
    }
    pub fn last(&self) -> f64 {
        self.points.last().map(|p| p.1).unwrap_or(0.0)
    }
    pub fn peak(&self) -> f64 {
        self.points
            .iter()
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max)
            .max(0.0)
    }
    pub fn peak_at(&self) -> Option<DateTime<Utc>> {
        let peak = self.peak();
        self.points.iter().find(|p| p.1 >= peak).map(|p| p.0)
    }
    fn window(&self) -> usize {
        self.points.len().div_ceil(4).clamp(1, 8)
    }
    /// Median of the first quarter of the series (at most 8 points): the "before" level.
    pub fn baseline(&self) -> f64 {
        let mut head: Vec<f64> = self
            .points
            .iter()
            .take(self.window())
            .map(|p| p.1)
            .collect();
        head.sort_by(f64::total_cmp);
        head.get(head.len() / 2).copied().unwrap_or(0.0)
    }
    /// Peak over baseline (baseline floored at `floor` so a zero baseline does not divide by 0).
    pub fn rise(&self, floor: f64) -> f64 {
        self.peak() / self.baseline().max(floor)
    }
    /// First point after the baseline window that departs upward from the baseline by more than
    /// `ratio`× and by more than `abs`.
    pub fn change_point(&self, ratio: f64, abs: f64) -> Option<(DateTime<Utc>, f64)> {
        let base = self.baseline();
        self.points
            .iter()
            .skip(self.window().min(self.points.len().saturating_sub(1)))
            .find(|(_, v)| *v > base * ratio && *v - base > abs)
            .copied()
    }
    /// Share of steps that go up; big drops (restarts: more than 30% down) are not counted.
    pub fn rising_fraction(&self) -> f64 {
        let (mut up, mut counted) = (0usize, 0usize);
        for w in self.points.windows(2) {
            let d = w[1].1 - w[0].1;
            if d < 0.0 && -d > 0.3 * w[0].1.abs() {
                continue;
            }
            counted += 1;
            if d > 0.0 {
                up += 1;
            }
        }
        if counted == 0 {
            0.0
        } else {
            up as f64 / counted as f64
        }
    }
}

/// Metric labels that name a node.
pub(crate) const NODE_LABELS: &[&str] = &[
    "k8s.node.name",
    "node",
    "host.name",
    "host_name",
    "instance",
    "host",
];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 10, m, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn series_drops_nan_and_sorts() {
        let s =
            Series::new(vec![(t(3), 3.0), (t(1), f64::NAN), (t(0), 1.0), (t(2), 1.0)].into_iter())
                .expect("points");
        assert_eq!(s.points.len(), 3);
        assert_eq!(s.first(), 1.0);
        assert_eq!(s.last(), 3.0);
        assert!(Series::new(vec![(t(0), f64::NAN)].into_iter()).is_none());
    }

    #[test]
    fn change_point_finds_first_departure() {
        let vals = [40.0, 41.0, 39.0, 40.0, 42.0, 900.0, 2300.0, 2200.0];
        let s = Series::new(vals.iter().enumerate().map(|(i, v)| (t(i as u32), *v))).expect("s");
        let (at, v) = s.change_point(3.0, 50.0).expect("change");
        assert_eq!(at, t(5));
        assert_eq!(v, 900.0);
        assert!(s.rise(1.0) > 50.0);
    }
}
