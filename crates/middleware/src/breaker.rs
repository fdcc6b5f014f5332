//! The circuit breaker of Traefik 1.7 (oxy's `cbreaker`), and the retry expressions of its
//! buffering, which share the expression language. The breaker: an expression over the backend's
//! last 10 seconds of answers (`NetworkErrorRatio()`, `LatencyAtQuantileMS(q)`,
//! `ResponseCodeRatio(a, b, c, d)`, comparisons, `&&`, `||`, parentheses) is checked at most
//! every 100 ms; when it holds, the breaker trips: every request gets 503 for 10 s, then for
//! 10 s a growing share of requests (up to half) is let through while the rest still get 503,
//! and then all traffic flows again. Tripping again during recovery starts over. Pure: the
//! caller passes the time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::MiddlewareError;

const CHECK_PERIOD: Duration = Duration::from_millis(100);
const FALLBACK: Duration = Duration::from_secs(10);
const RECOVERY: Duration = Duration::from_secs(10);
/// The window the expression sees: this many buckets of one second.
const BUCKETS: usize = 10;

/// A parsed tripping condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    Or(Box<Condition>, Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Compare(Operand, Op, Operand),
    /// `IsNetworkError()` (retry expressions): the answer was 502 or 504.
    IsNetworkError,
}

/// Which functions an expression may use: a circuit breaker's look at a window of answers, a
/// retry expression at one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    Breaker,
    Retry,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Operand {
    Number(f64),
    /// Answers with 502 or 504 over all answers.
    NetworkErrorRatio,
    /// The latency at quantile `q` (percent), in milliseconds.
    LatencyAtQuantileMs(f64),
    /// Answers with a status in `[a, b)` over answers with one in `[c, d)`.
    ResponseCodeRatio(u16, u16, u16, u16),
    /// The attempt's number, from 1 (retry expressions).
    Attempts,
    /// The attempt's status (retry expressions).
    ResponseCode,
}

/// Parses Traefik's expression; the error says where it went wrong.
pub(crate) fn parse(expression: &str, language: Language) -> Result<Condition, MiddlewareError> {
    let tokens = tokenize(expression).map_err(|m| bad(expression, m))?;
    let mut p = Parser {
        tokens,
        at: 0,
        language,
    };
    let c = p.or().map_err(|m| bad(expression, m))?;
    match p.tokens.get(p.at) {
        None => Ok(c),
        Some(t) => Err(bad(expression, format!("unexpected {t:?} at the end"))),
    }
}

fn bad(expression: &str, message: String) -> MiddlewareError {
    MiddlewareError::Breaker {
        expression: expression.to_string(),
        message,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Ident(String),
    Open,
    Close,
    Comma,
    Op(Op),
    And,
    Or,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let two = |t: Token| (t, 2);
        let (token, len) = match (c, next) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('(', _) => (Token::Open, 1),
            (')', _) => (Token::Close, 1),
            (',', _) => (Token::Comma, 1),
            ('&', Some('&')) => two(Token::And),
            ('|', Some('|')) => two(Token::Or),
            ('<', Some('=')) => two(Token::Op(Op::Le)),
            ('>', Some('=')) => two(Token::Op(Op::Ge)),
            ('=', Some('=')) => two(Token::Op(Op::Eq)),
            ('!', Some('=')) => two(Token::Op(Op::Ne)),
            ('<', _) => (Token::Op(Op::Lt), 1),
            ('>', _) => (Token::Op(Op::Gt), 1),
            (c, _) if c.is_ascii_digit() || c == '.' => {
                let end = (i..chars.len())
                    .find(|&j| !(chars[j].is_ascii_digit() || chars[j] == '.'))
                    .unwrap_or(chars.len());
                let text: String = chars[i..end].iter().collect();
                let n = text
                    .parse::<f64>()
                    .map_err(|_| format!("{text:?} is not a number"))?;
                (Token::Number(n), end - i)
            }
            (c, _) if c.is_ascii_alphabetic() => {
                let end = (i..chars.len())
                    .find(|&j| !chars[j].is_ascii_alphanumeric())
                    .unwrap_or(chars.len());
                (Token::Ident(chars[i..end].iter().collect()), end - i)
            }
            (c, _) => return Err(format!("unexpected {c:?}")),
        };
        out.push(token);
        i += len;
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    language: Language,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn take(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut left = self.atom()?;
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            left = Condition::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Condition, String> {
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            return match self.take() {
                Some(Token::Close) => Ok(inner),
                other => Err(format!("expected ) but found {other:?}")),
            };
        }
        if self.language == Language::Retry
            && self.peek() == Some(&Token::Ident("IsNetworkError".into()))
        {
            self.at += 1;
            return match self.args("IsNetworkError")?.len() {
                0 => Ok(Condition::IsNetworkError),
                n => Err(format!("IsNetworkError takes 0 arguments, not {n}")),
            };
        }
        let left = self.operand()?;
        let op = match self.take() {
            Some(Token::Op(op)) => op,
            other => {
                return Err(format!(
                    "expected a comparison (<, <=, >, >=, ==, !=) but found {other:?}"
                ));
            }
        };
        Ok(Condition::Compare(left, op, self.operand()?))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.take() {
            Some(Token::Number(n)) => Ok(Operand::Number(n)),
            Some(Token::Ident(name)) => {
                let args = self.args(&name)?;
                let arity = |n: usize| {
                    if args.len() == n {
                        Ok(())
                    } else {
                        Err(format!("{name} takes {n} arguments, not {}", args.len()))
                    }
                };
                let code = |v: f64| {
                    (v.fract() == 0.0 && (0.0..=1000.0).contains(&v))
                        .then_some(v as u16)
                        .ok_or(format!("{v} is not a status code"))
                };
                match (self.language, name.as_str()) {
                    (Language::Breaker, "NetworkErrorRatio") => {
                        arity(0).map(|()| Operand::NetworkErrorRatio)
                    }
                    (Language::Breaker, "LatencyAtQuantileMS") => {
                        arity(1)?;
                        if !(0.0..=100.0).contains(&args[0]) {
                            return Err(format!("quantile {} is not in 0..100", args[0]));
                        }
                        Ok(Operand::LatencyAtQuantileMs(args[0]))
                    }
                    (Language::Breaker, "ResponseCodeRatio") => {
                        arity(4)?;
                        Ok(Operand::ResponseCodeRatio(
                            code(args[0])?,
                            code(args[1])?,
                            code(args[2])?,
                            code(args[3])?,
                        ))
                    }
                    (Language::Retry, "Attempts") => arity(0).map(|()| Operand::Attempts),
                    (Language::Retry, "ResponseCode") => arity(0).map(|()| Operand::ResponseCode),
                    (Language::Breaker, _) => Err(format!(
                        "unknown function {name} (NetworkErrorRatio, LatencyAtQuantileMS, ResponseCodeRatio)"
                    )),
                    (Language::Retry, _) => Err(format!(
                        "unknown function {name} (IsNetworkError, Attempts, ResponseCode)"
                    )),
                }
            }
            other => Err(format!(
                "expected a number or a function but found {other:?}"
            )),
        }
    }

    fn args(&mut self, name: &str) -> Result<Vec<f64>, String> {
        if self.take() != Some(Token::Open) {
            return Err(format!("{name} must be called: {name}(…)"));
        }
        let mut args = Vec::new();
        loop {
            match self.take() {
                Some(Token::Close) if args.is_empty() => return Ok(args),
                Some(Token::Number(n)) => args.push(n),
                other => return Err(format!("expected a number but found {other:?}")),
            }
            match self.take() {
                Some(Token::Close) => return Ok(args),
                Some(Token::Comma) => {}
                other => return Err(format!("expected , or ) but found {other:?}")),
            }
        }
    }
}

/// What the condition is evaluated against.
pub(crate) trait Stats {
    fn network_error_ratio(&self) -> f64 {
        0.0
    }
    fn latency_at_quantile_ms(&self, _q: f64) -> f64 {
        0.0
    }
    fn response_code_ratio(&self, _a: u16, _b: u16, _c: u16, _d: u16) -> f64 {
        0.0
    }
    fn attempts(&self) -> f64 {
        0.0
    }
    fn response_code(&self) -> f64 {
        0.0
    }
}

impl Condition {
    pub(crate) fn holds(&self, s: &impl Stats) -> bool {
        match self {
            Condition::Or(a, b) => a.holds(s) || b.holds(s),
            Condition::And(a, b) => a.holds(s) && b.holds(s),
            Condition::IsNetworkError => matches!(s.response_code() as u16, 502 | 504),
            Condition::Compare(l, op, r) => {
                let (l, r) = (l.value(s), r.value(s));
                match op {
                    Op::Lt => l < r,
                    Op::Le => l <= r,
                    Op::Gt => l > r,
                    Op::Ge => l >= r,
                    Op::Eq => l == r,
                    Op::Ne => l != r,
                }
            }
        }
    }
}

impl Operand {
    fn value(&self, s: &impl Stats) -> f64 {
        match *self {
            Operand::Number(n) => n,
            Operand::NetworkErrorRatio => s.network_error_ratio(),
            Operand::LatencyAtQuantileMs(q) => s.latency_at_quantile_ms(q),
            Operand::ResponseCodeRatio(a, b, c, d) => s.response_code_ratio(a, b, c, d),
            Operand::Attempts => s.attempts(),
            Operand::ResponseCode => s.response_code(),
        }
    }
}

/// One second of answers.
#[derive(Debug, Default, Clone)]
struct Bucket {
    second: u64,
    total: u64,
    network_errors: u64,
    codes: HashMap<u16, u64>,
    /// Latencies in milliseconds (at most `MAX_SAMPLES` a second are kept).
    latencies: Vec<u32>,
}

/// Latencies kept per second for the quantiles; beyond, every n-th is kept.
const MAX_SAMPLES: usize = 2048;

/// The last `BUCKETS` seconds of answers.
#[derive(Debug, Default)]
pub(crate) struct Window {
    buckets: Vec<Bucket>,
}

impl Window {
    fn record(&mut self, second: u64, status: u16, latency: Duration) {
        if self.buckets.is_empty() {
            self.buckets = vec![Bucket::default(); BUCKETS];
        }
        let b = &mut self.buckets[(second % BUCKETS as u64) as usize];
        if b.second != second {
            *b = Bucket {
                second,
                ..Bucket::default()
            };
        }
        b.total += 1;
        if matches!(status, 502 | 504) {
            b.network_errors += 1;
        }
        *b.codes.entry(status).or_default() += 1;
        let ms = u32::try_from(latency.as_millis()).unwrap_or(u32::MAX);
        if b.latencies.len() < MAX_SAMPLES {
            b.latencies.push(ms);
        } else {
            let slot = (b.total as usize) % MAX_SAMPLES;
            b.latencies[slot] = ms;
        }
    }

    fn live(&self, now: u64) -> impl Iterator<Item = &Bucket> {
        self.buckets
            .iter()
            .filter(move |b| b.total > 0 && now.saturating_sub(b.second) < BUCKETS as u64)
    }

    /// The window as of second `now`.
    fn at(&self, now: u64) -> Snapshot {
        let mut s = Snapshot::default();
        for b in self.live(now) {
            s.total += b.total;
            s.network_errors += b.network_errors;
            for (code, n) in &b.codes {
                *s.codes.entry(*code).or_default() += n;
            }
            s.latencies.extend_from_slice(&b.latencies);
        }
        s.latencies.sort_unstable();
        s
    }
}

/// The window's totals, as the condition sees them.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    total: u64,
    network_errors: u64,
    codes: HashMap<u16, u64>,
    latencies: Vec<u32>,
}

impl Stats for Snapshot {
    fn network_error_ratio(&self) -> f64 {
        ratio(self.network_errors, self.total)
    }

    fn latency_at_quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank = ((q / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.latencies.len()) - 1;
        f64::from(self.latencies[i])
    }

    fn response_code_ratio(&self, a: u16, b: u16, c: u16, d: u16) -> f64 {
        let count = |lo: u16, hi: u16| -> u64 {
            self.codes
                .iter()
                .filter(|(code, _)| (lo..hi).contains(*code))
                .map(|(_, n)| n)
                .sum()
        };
        ratio(count(a, b), count(c, d))
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// A compiled `buffering.retryExpression`: whether to send a buffered request again after an
/// attempt that answered `status` (`Attempts()` counts from 1; at most 10 attempts, as oxy).
#[derive(Debug)]
pub struct RetryCondition(Condition);

/// The most attempts a retry expression can ask for.
pub const MAX_RETRY_ATTEMPTS: u32 = 10;

struct Attempt {
    number: u32,
    status: u16,
}

impl Stats for Attempt {
    fn attempts(&self) -> f64 {
        f64::from(self.number)
    }
    fn response_code(&self) -> f64 {
        f64::from(self.status)
    }
}

impl RetryCondition {
    pub fn compile(expression: &str) -> Result<RetryCondition, MiddlewareError> {
        parse(expression, Language::Retry).map(RetryCondition)
    }

    /// After attempt `number` answered `status`: try again?
    pub fn again(&self, number: u32, status: u16) -> bool {
        number < MAX_RETRY_ATTEMPTS && self.0.holds(&Attempt { number, status })
    }
}

/// Where the breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Standby,
    Tripped,
    Recovering,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Standby => "standby",
            BreakerState::Tripped => "tripped",
            BreakerState::Recovering => "recovering",
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    until: Instant,
    last_check: Instant,
    window: Window,
    recovery_start: Instant,
    allowed: u64,
    denied: u64,
}

/// A backend's circuit breaker.
#[derive(Debug)]
pub struct Breaker {
    condition: Condition,
    check_period: Duration,
    fallback: Duration,
    recovery: Duration,
    /// Seconds are counted from here.
    epoch: Instant,
    inner: Mutex<Inner>,
}

impl Breaker {
    pub fn compile(expression: &str, now: Instant) -> Result<Breaker, MiddlewareError> {
        Ok(Breaker {
            condition: parse(expression, Language::Breaker)?,
            check_period: CHECK_PERIOD,
            fallback: FALLBACK,
            recovery: RECOVERY,
            epoch: now,
            inner: Mutex::new(Inner {
                state: BreakerState::Standby,
                until: now,
                last_check: now,
                window: Window::default(),
                recovery_start: now,
                allowed: 0,
                denied: 0,
            }),
        })
    }

    /// The breaker with other periods than Traefik's defaults (`None` keeps a default).
    pub fn with_periods(
        mut self,
        check: Option<Duration>,
        fallback: Option<Duration>,
        recovery: Option<Duration>,
    ) -> Breaker {
        self.check_period = check.unwrap_or(self.check_period);
        self.fallback = fallback.unwrap_or(self.fallback);
        self.recovery = recovery.unwrap_or(self.recovery);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        let mut i = self.lock();
        self.advance(&mut i, now);
        i.state
    }

    /// Moves a tripped breaker to recovering, and a recovered one to standby, by the clock.
    fn advance(&self, i: &mut Inner, now: Instant) {
        if i.state == BreakerState::Tripped && now >= i.until {
            i.state = BreakerState::Recovering;
            i.until = now + self.recovery;
            i.recovery_start = now;
            i.allowed = 0;
            i.denied = 0;
        }
        if i.state == BreakerState::Recovering && now >= i.until {
            i.state = BreakerState::Standby;
        }
    }

    /// Whether a request may go to the backend now (else it gets 503).
    pub fn allow(&self, now: Instant) -> bool {
        let mut i = self.lock();
        self.advance(&mut i, now);
        match i.state {
            BreakerState::Standby => true,
            BreakerState::Tripped => false,
            BreakerState::Recovering => {
                // oxy's ratio controller: allowed / all stays under a target that grows
                // linearly from 0 to 0.5 over the recovery.
                let elapsed = now.duration_since(i.recovery_start).as_secs_f64();
                let target = 0.5 * elapsed / self.recovery.as_secs_f64().max(f64::MIN_POSITIVE);
                let would = ratio(i.allowed + 1, i.allowed + 1 + i.denied);
                if would < target {
                    i.allowed += 1;
                    true
                } else {
                    i.denied += 1;
                    false
                }
            }
        }
    }

    /// Records an answer the backend gave (its status and how long it took), and checks the
    /// condition when the check period has passed.
    pub fn record(&self, status: u16, latency: Duration, now: Instant) {
        let second = now.duration_since(self.epoch).as_secs();
        let mut i = self.lock();
        i.window.record(second, status, latency);
        if now < i.last_check || i.state == BreakerState::Tripped {
            return;
        }
        i.last_check = now + self.check_period;
        if self.condition.holds(&i.window.at(second)) {
            i.state = BreakerState::Tripped;
            i.until = now + self.fallback;
            i.window = Window::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_parse_as_traefik_writes_them() {
        assert_eq!(
            parse("NetworkErrorRatio() > 0.5", Language::Breaker),
            Ok(Condition::Compare(
                Operand::NetworkErrorRatio,
                Op::Gt,
                Operand::Number(0.5)
            ))
        );
        for ok in [
            "LatencyAtQuantileMS(50.0) > 100",
            "ResponseCodeRatio(500, 600, 0, 600) > 0.5",
            "NetworkErrorRatio() > 0.5 || LatencyAtQuantileMS(50.0) > 50",
            "(NetworkErrorRatio() > 0.5 && ResponseCodeRatio(500,600,0,600) >= 0.25) || 1 == 1",
        ] {
            let parsed = parse(ok, Language::Breaker);
            assert!(parsed.is_ok(), "{ok}: {parsed:?}");
        }
        for (bad, why) in [
            ("NetworkErrorRatio() >", "expected a number or a function"),
            ("NetworkErrorRatio > 0.5", "must be called"),
            ("Foo() > 1", "unknown function Foo"),
            ("LatencyAtQuantileMS() > 1", "takes 1 arguments"),
            (
                "NetworkErrorRatio() > 0.5 &&",
                "expected a number or a function",
            ),
            ("NetworkErrorRatio()", "expected a comparison"),
            ("NetworkErrorRatio() > 0.5 )", "unexpected Close at the end"),
            ("NetworkErrorRatio() ~ 1", "unexpected '~'"),
        ] {
            let e = parse(bad, Language::Breaker).expect_err(bad).to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn retry_expressions_see_the_attempt() {
        let r = RetryCondition::compile("IsNetworkError() && Attempts() <= 2").expect("compiles");
        assert!(r.again(1, 502) && r.again(2, 504));
        assert!(!r.again(3, 502), "a third retry is not asked for");
        assert!(!r.again(1, 500), "500 is not a network error");
        let r = RetryCondition::compile("ResponseCode() == 503 || IsNetworkError()").expect("ok");
        assert!(r.again(1, 503) && r.again(9, 502) && !r.again(10, 502));
        let e = RetryCondition::compile("NetworkErrorRatio() > 0.5")
            .expect_err("breaker functions are not retry functions")
            .to_string();
        assert!(e.contains("unknown function NetworkErrorRatio"), "{e}");
    }

    #[test]
    fn the_window_counts_the_last_ten_seconds() {
        let mut w = Window::default();
        for _ in 0..3 {
            w.record(5, 502, Duration::from_millis(10));
        }
        w.record(6, 200, Duration::from_millis(100));
        w.record(6, 500, Duration::from_millis(300));
        let s = w.at(6);
        assert_eq!(s.network_error_ratio(), 0.6);
        assert_eq!(s.response_code_ratio(500, 600, 0, 600), 0.8);
        assert_eq!(s.latency_at_quantile_ms(50.0), 10.0);
        assert_eq!(s.latency_at_quantile_ms(100.0), 300.0);
        // Ten seconds on, second 5 has left the window; second 6 is still in it.
        let s = w.at(15);
        assert_eq!(s.network_error_ratio(), 0.0);
        assert_eq!(s.response_code_ratio(500, 600, 0, 600), 0.5);
        assert_eq!(w.at(16).response_code_ratio(500, 600, 0, 600), 0.0);
    }

    #[test]
    fn trips_falls_back_recovers_and_stands_by() {
        let t0 = Instant::now();
        let b = Breaker::compile("NetworkErrorRatio() > 0.5", t0).expect("compiles");
        assert!(b.allow(t0));
        b.record(200, Duration::ZERO, t0);
        assert_eq!(b.state(t0), BreakerState::Standby);
        let t1 = t0 + Duration::from_millis(200);
        b.record(502, Duration::ZERO, t1);
        b.record(502, Duration::ZERO, t1);
        assert_eq!(
            b.state(t1),
            BreakerState::Standby,
            "checked once per period"
        );
        let t2 = t1 + Duration::from_millis(150);
        b.record(502, Duration::ZERO, t2);
        assert_eq!(b.state(t2), BreakerState::Tripped);
        assert!(!b.allow(t2 + Duration::from_secs(9)));
        // Recovering: a growing share gets through, at most half.
        let start = t2 + FALLBACK;
        let allowed = (0..100)
            .filter(|n| b.allow(start + Duration::from_millis(n * 100)))
            .count();
        assert!((10..=50).contains(&allowed), "{allowed}");
        assert_eq!(b.state(start + RECOVERY), BreakerState::Standby);
        assert!(b.allow(start + RECOVERY));
    }

    #[test]
    fn periods_of_traefik_3_replace_the_defaults() {
        let t0 = Instant::now();
        let b = Breaker::compile("NetworkErrorRatio() > 0.5", t0)
            .expect("compiles")
            .with_periods(
                None,
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
            );
        b.record(502, Duration::ZERO, t0);
        assert_eq!(b.state(t0), BreakerState::Tripped);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(b.state(t1), BreakerState::Recovering, "fallbackDuration 1s");
        assert_eq!(
            b.state(t1 + Duration::from_secs(2)),
            BreakerState::Standby,
            "recoveryDuration 2s"
        );
    }
}
