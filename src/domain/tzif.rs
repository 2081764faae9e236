//! Time zone rules as the TZif format (RFC 8536) holds them: the zone's transitions, and
//! the POSIX TZ rule of its footer for every instant after the last one. Only what the
//! offset from UTC at an instant needs, read from the bytes the binary embeds.

use chrono::{Datelike, NaiveDate};

/// A zone's offsets from UTC through time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Each transition's instant (Unix seconds), ascending.
    times: Vec<i64>,
    /// The offset (seconds east of UTC) each transition moves to.
    moves_to: Vec<i32>,
    /// The offset before the first transition.
    first: i32,
    /// The rule after the last transition.
    footer: Option<Posix>,
}

/// A POSIX TZ rule: a standard offset, and maybe a daylight one with its yearly dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Posix {
    standard: i32,
    daylight: Option<(i32, Day, i32, Day, i32)>,
}

/// A day of the year as a POSIX rule names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// `Jn`: 1 to 365, never counting 29 February.
    Julian(u32),
    /// `n`: 0 to 365, counting 29 February.
    Ordinal(u32),
    /// `Mm.w.d`: weekday `d` (0 is Sunday) of week `w` (5: the last) of month `m`.
    Weekday(u32, u32, u32),
}

impl Rules {
    /// The rules in `data`, a TZif file of version 2 or later; `None` for anything else.
    pub fn parse(data: &[u8]) -> Option<Rules> {
        let (version, counts) = header(data)?;
        if version < b'2' {
            return None;
        }
        let [isut, isstd, leap, time, kinds, chars] = counts;
        let skip = 44 + time * 5 + kinds * 6 + chars + leap * 8 + isstd + isut;
        let data = data.get(skip..)?;
        let (_, counts) = header(data)?;
        let [isut, isstd, leap, time, kinds, chars] = counts;
        let body = data.get(44..)?;
        let times_end = time * 8;
        let index_end = times_end + time;
        let kinds_end = index_end + kinds * 6;
        let end = kinds_end + chars + leap * 12 + isstd + isut;
        let offsets: Vec<i32> = body
            .get(index_end..kinds_end)?
            .chunks_exact(6)
            .map(|k| i32::from_be_bytes([k[0], k[1], k[2], k[3]]))
            .collect();
        let times = body
            .get(..times_end)?
            .chunks_exact(8)
            .map(|t| i64::from_be_bytes(t.try_into().unwrap_or([0; 8])))
            .collect();
        let moves_to = body
            .get(times_end..index_end)?
            .iter()
            .map(|&i| offsets.get(usize::from(i)).copied())
            .collect::<Option<Vec<i32>>>()?;
        let footer = match body.get(end..)? {
            [b'\n', rest @ ..] => {
                let text = std::str::from_utf8(rest).ok()?;
                let text = text.split('\n').next()?;
                if text.is_empty() {
                    None
                } else {
                    Some(Posix::parse(text)?)
                }
            }
            _ => None,
        };
        Some(Rules {
            times,
            moves_to,
            first: *offsets.first()?,
            footer,
        })
    }

    /// The offset from UTC, in seconds east, at the Unix instant `unix`.
    pub fn offset_at(&self, unix: i64) -> i32 {
        let passed = self.times.partition_point(|&t| t <= unix);
        if passed == self.times.len()
            && let Some(footer) = &self.footer
        {
            return footer.offset_at(unix);
        }
        match passed.checked_sub(1) {
            None => self.first,
            Some(last) => self.moves_to[last],
        }
    }

    /// Every offset the zone has had or will have.
    pub fn offsets(&self) -> Vec<i32> {
        let mut all = self.moves_to.clone();
        all.push(self.first);
        if let Some(footer) = &self.footer {
            all.push(footer.standard);
            all.extend(footer.daylight.map(|(offset, ..)| offset));
        }
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// The version byte and the six counts of a TZif header at the start of `data`.
fn header(data: &[u8]) -> Option<(u8, [usize; 6])> {
    if data.get(..4)? != b"TZif" {
        return None;
    }
    let mut counts = [0; 6];
    for (n, count) in counts.iter_mut().enumerate() {
        let at = 20 + n * 4;
        let bytes: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        *count = usize::try_from(u32::from_be_bytes(bytes)).ok()?;
    }
    Some((*data.get(4)?, counts))
}

impl Posix {
    /// `AEST-10AEDT,M10.1.0,M4.1.0/3` and its kin.
    fn parse(text: &str) -> Option<Posix> {
        let mut at = Cursor(text.as_bytes());
        at.name()?;
        let standard = -at.duration()?;
        if at.done() {
            return Some(Posix {
                standard,
                daylight: None,
            });
        }
        at.name()?;
        let daylight = if at.peek().is_some_and(|c| c != b',') {
            -at.duration()?
        } else {
            standard + 3600
        };
        // Without dates, the United States' rule is meant.
        let (start, start_time, end, end_time) = if at.done() {
            (Day::Weekday(3, 2, 0), 7200, Day::Weekday(11, 1, 0), 7200)
        } else {
            at.expect(b',')?;
            let (start, start_time) = at.day_and_time()?;
            at.expect(b',')?;
            let (end, end_time) = at.day_and_time()?;
            (start, start_time, end, end_time)
        };
        at.done().then_some(Posix {
            standard,
            daylight: Some((daylight, start, start_time, end, end_time)),
        })
    }

    fn offset_at(&self, unix: i64) -> i32 {
        let Some((daylight, start, start_time, end, end_time)) = self.daylight else {
            return self.standard;
        };
        let local = unix + i64::from(self.standard);
        let Some(year) = chrono::DateTime::from_timestamp(local, 0).map(|d| d.year()) else {
            return self.standard;
        };
        // The start is given in standard time, the end in daylight time.
        let begins = start.unix_in(year, start_time) - i64::from(self.standard);
        let ends = end.unix_in(year, end_time) - i64::from(daylight);
        let summer = if begins < ends {
            begins <= unix && unix < ends
        } else {
            unix < ends || begins <= unix
        };
        if summer { daylight } else { self.standard }
    }
}

impl Day {
    /// The local instant (as Unix seconds, as if the zone were UTC) `seconds` past the
    /// start of this day of `year`.
    fn unix_in(self, year: i32, seconds: i32) -> i64 {
        let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
        let leap = NaiveDate::from_ymd_opt(year, 2, 29).is_some();
        let date = match self {
            Day::Julian(n) => {
                let skip = u64::from(n.saturating_sub(1)) + u64::from(leap && n >= 60);
                jan1 + chrono::Days::new(skip)
            }
            Day::Ordinal(n) => jan1 + chrono::Days::new(u64::from(n)),
            Day::Weekday(month, week, weekday) => {
                let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(jan1);
                let shift = (weekday + 7 - first.weekday().num_days_from_sunday()) % 7;
                let mut day = first + chrono::Days::new(u64::from(shift + (week - 1) * 7));
                while day.month() != first.month() {
                    day = day - chrono::Days::new(7);
                }
                day
            }
        };
        date.and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp()
            + i64::from(seconds)
    }
}

/// Reads a POSIX TZ string front to back.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.0 = &self.0[1..])
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &[u8] {
        let n = self.0.iter().take_while(|&&c| keep(c)).count();
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken
    }

    /// `AEST` or `<-03>`.
    fn name(&mut self) -> Option<()> {
        if self.peek()? == b'<' {
            self.take_while(|c| c != b'>');
            self.expect(b'>')
        } else {
            (self.take_while(|c| c.is_ascii_alphabetic()).len() >= 3).then_some(())
        }
    }

    fn number(&mut self) -> Option<i32> {
        let digits = self.take_while(|c| c.is_ascii_digit());
        std::str::from_utf8(digits).ok()?.parse().ok()
    }

    /// `[+-]hh[:mm[:ss]]`, in seconds.
    fn duration(&mut self) -> Option<i32> {
        let sign = match self.peek()? {
            b'-' => -1,
            _ => 1,
        };
        if matches!(self.peek()?, b'-' | b'+') {
            self.0 = &self.0[1..];
        }
        let mut seconds = self.number()? * 3600;
        for unit in [60, 1] {
            if self.peek() != Some(b':') {
                break;
            }
            self.0 = &self.0[1..];
            seconds += self.number()? * unit;
        }
        Some(sign * seconds)
    }

    /// `Mm.w.d[/time]`, `Jn[/time]` or `n[/time]`; the time defaults to 02:00.
    fn day_and_time(&mut self) -> Option<(Day, i32)> {
        let day = match self.peek()? {
            b'M' => {
                self.0 = &self.0[1..];
                let month = self.number()?;
                self.expect(b'.')?;
                let week = self.number()?;
                self.expect(b'.')?;
                let weekday = self.number()?;
                let valid = (1..=12).contains(&month)
                    && (1..=5).contains(&week)
                    && (0..=6).contains(&weekday);
                valid.then_some(Day::Weekday(month as u32, week as u32, weekday as u32))?
            }
            b'J' => {
                self.0 = &self.0[1..];
                Day::Julian(u32::try_from(self.number()?).ok()?)
            }
            _ => Day::Ordinal(u32::try_from(self.number()?).ok()?),
        };
        let time = if self.peek() == Some(b'/') {
            self.0 = &self.0[1..];
            self.duration()?
        } else {
            7200
        };
        Some((day, time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp()
    }

    #[test]
    fn a_northern_rule_is_daylight_between_its_dates() {
        let new_york = Posix::parse("EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(new_york.offset_at(at("2026-03-08T06:59:59Z")), -18000);
        assert_eq!(new_york.offset_at(at("2026-03-08T07:00:00Z")), -14400);
        assert_eq!(new_york.offset_at(at("2026-11-01T05:59:59Z")), -14400);
        assert_eq!(new_york.offset_at(at("2026-11-01T06:00:00Z")), -18000);
    }

    #[test]
    fn a_southern_rule_is_daylight_across_the_new_year() {
        let melbourne = Posix::parse("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(melbourne.offset_at(at("2026-01-15T00:00:00Z")), 39600);
        assert_eq!(melbourne.offset_at(at("2026-04-04T15:59:59Z")), 39600);
        assert_eq!(melbourne.offset_at(at("2026-04-04T16:00:00Z")), 36000);
        assert_eq!(melbourne.offset_at(at("2026-10-03T15:59:59Z")), 36000);
        assert_eq!(melbourne.offset_at(at("2026-10-03T16:00:00Z")), 39600);
    }

    #[test]
    fn bracketed_names_and_hours_past_midnight_are_read() {
        let santiago = Posix::parse("<-04>4<-03>,M9.1.6/24,M4.1.6/24").unwrap();
        // The Saturday's 24:00 is Sunday 6 September's midnight, at -04.
        assert_eq!(santiago.offset_at(at("2026-09-06T03:59:59Z")), -14400);
        assert_eq!(santiago.offset_at(at("2026-09-06T04:00:00Z")), -10800);
        assert_eq!(Posix::parse("<+0545>-5:45").unwrap().standard, 20700);
    }

    #[test]
    fn what_is_no_tzif_or_no_rule_is_refused() {
        assert_eq!(Rules::parse(b"not a zone file"), None);
        assert_eq!(Rules::parse(b""), None);
        for bad in ["", "A", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.2.0", "EST"] {
            assert_eq!(Posix::parse(bad), None, "{bad:?}");
        }
    }
}
