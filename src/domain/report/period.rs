//! The period a report covers: whole UTC days, from a first to a last date, as a month or
//! any span of days, and which instants and months lie in it.

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Utc};

/// The longest period a report covers, in days: a year, a leap day included, so one
/// report stays within one invocation.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// Whole UTC days from `first` to `last`, both included. UTC, not a linked account's
/// local day: one period means the same instants for every account in one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    first: NaiveDate,
    last: NaiveDate,
}

impl Period {
    /// The month `year`-`month`; `None` for a month that does not exist.
    pub fn month(year: i32, month: u32) -> Option<Period> {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
        Some(Period { first, last })
    }

    /// The days from `first` to `last`, both included; `None` when `last` is before
    /// `first` or the span is longer than [`MAX_PERIOD_DAYS`].
    pub fn between(first: NaiveDate, last: NaiveDate) -> Option<Period> {
        let days = (last - first).num_days() + 1;
        (1..=MAX_PERIOD_DAYS)
            .contains(&days)
            .then_some(Period { first, last })
    }

    /// The month before the one `now` lies in (UTC): what the monthly schedule reports.
    pub fn previous_month(now: DateTime<Utc>) -> Period {
        let this = now.date_naive().with_day(1).unwrap_or(now.date_naive());
        let first = this
            .checked_sub_months(Months::new(1))
            .unwrap_or(NaiveDate::MIN);
        Period {
            first,
            last: this.pred_opt().unwrap_or(first),
        }
    }

    /// The first day.
    pub fn first(&self) -> NaiveDate {
        self.first
    }

    /// The last day, included.
    pub fn last(&self) -> NaiveDate {
        self.last
    }

    /// The first instant of the period.
    pub fn start(&self) -> DateTime<Utc> {
        self.first.and_time(NaiveTime::MIN).and_utc()
    }

    /// The first instant after the period.
    pub fn end(&self) -> DateTime<Utc> {
        self.last
            .succ_opt()
            .map(|day| day.and_time(NaiveTime::MIN).and_utc())
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// True when `instant` lies in the period.
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start() <= instant && instant < self.end()
    }

    /// True when the period is exactly one calendar month.
    pub fn is_month(&self) -> bool {
        Period::month(self.first.year(), self.first.month()) == Some(*self)
    }

    /// The months the period spans, as `YYYY-MM`, in order: where its objects are kept.
    pub fn months(&self) -> Vec<String> {
        let mut months = Vec::new();
        let mut day = self.first.with_day(1).unwrap_or(self.first);
        while day <= self.last {
            months.push(day.format("%Y-%m").to_string());
            match day.checked_add_months(Months::new(1)) {
                Some(next) => day = next,
                None => break,
            }
        }
        months
    }

    /// `2026-11` for a month, else `2026-11-03..2026-11-20`: the period as headers and
    /// object names print it.
    pub fn label(&self) -> String {
        if self.is_month() {
            self.first.format("%Y-%m").to_string()
        } else {
            format!(
                "{}..{}",
                self.first.format("%Y-%m-%d"),
                self.last.format("%Y-%m-%d")
            )
        }
    }
}
