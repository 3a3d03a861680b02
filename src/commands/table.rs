//! Human-readable tables of batches and items, fitting an 80-column terminal.

use serde_json::Value;
use std::fmt::Write;

/// `[#####-----]  50%`
pub fn bar(progress: f64, width: usize) -> String {
    let p = progress.clamp(0.0, 1.0);
    let filled = (p * width as f64).round() as usize;
    format!(
        "{}{} {:>3.0}%",
        "#".repeat(filled),
        "-".repeat(width - filled),
        p * 100.0
    )
}

/// `2h05m`, `4m10s`, `12s`, `-` when unknown.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return "-".into();
    };
    let s = s.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return format!("{text:<width$}");
    }
    let cut: String = text.chars().take(width - 1).collect();
    format!("{cut}~")
}

fn state_label(state: &str) -> &str {
    match state {
        "completed_with_errors" => "with errors",
        other => other,
    }
}

fn speed(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{x:.1}x"))
}

/// One line per batch.
pub fn batches(rows: &[Value]) -> String {
    let mut out = format!(
        "{:<4} {:<20} {:<11} {:<15} {:>7} {:>4} {:>6} {:>6}\n",
        "ID", "BATCH", "STATE", "PROGRESS", "DONE", "FAIL", "SPEED", "ETA"
    );
    for r in rows {
        let c = &r["counts"];
        let total: u64 = [
            "waiting",
            "queued",
            "running",
            "done",
            "failed",
            "cancelled",
            "skipped",
        ]
        .iter()
        .filter_map(|k| c[k].as_u64())
        .sum();
        let done = format!("{}/{}", c["done"].as_u64().unwrap_or(0), total);
        let _ = writeln!(
            out,
            "{:<4} {} {:<11} {:<15} {:>7} {:>4} {:>6} {:>6}",
            r["id"].as_u64().unwrap_or(0),
            fit(r["name"].as_str().or(r["batch"].as_str()).unwrap_or(""), 20),
            state_label(r["state"].as_str().unwrap_or("")),
            bar(r["progress"].as_f64().unwrap_or(0.0), 8),
            done,
            c["failed"].as_u64().unwrap_or(0),
            speed(&r["speed"]),
            duration(r["eta_seconds"].as_f64()),
        );
    }
    out
}

/// A batch's header and its items.
pub fn batch_detail(s: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "batch {} (id {}, inbox {})",
        s["batch"].as_str().unwrap_or(""),
        s["id"],
        s["inbox"].as_str().unwrap_or("")
    );
    let _ = writeln!(
        out,
        "state {}   {}",
        s["state"].as_str().unwrap_or(""),
        bar(s["progress"].as_f64().unwrap_or(0.0), 20)
    );
    for key in ["paused", "cancelled"] {
        if s[key].is_object() {
            let _ = writeln!(
                out,
                "{key} by {} at {}",
                s[key]["by"].as_str().unwrap_or("?"),
                s[key]["at"].as_str().unwrap_or("?")
            );
        }
    }
    let audio = &s["audio_seconds"];
    let _ = writeln!(
        out,
        "audio {:.0}/{:.0} s   speed {}   eta {}",
        audio["done"].as_f64().unwrap_or(0.0),
        audio["total"].as_f64().unwrap_or(0.0),
        speed(&s["throughput"]["audio_seconds_per_second"]),
        duration(s["eta_seconds"].as_f64()),
    );
    let _ = writeln!(
        out,
        "\n{:<9} {:>3} {:>5} {:>7}  PATH / ERROR",
        "STATE", "TRY", "PROG", "AUDIO"
    );
    for i in s["items"].as_array().into_iter().flatten() {
        let audio = i["audio_seconds"]
            .as_f64()
            .map_or("-".into(), |a| format!("{a:.1}s"));
        let prog = format!("{:.0}%", i["progress"].as_f64().unwrap_or(0.0) * 100.0);
        let _ = writeln!(
            out,
            "{:<9} {:>3} {:>5} {:>7}  {}",
            i["state"].as_str().unwrap_or(""),
            i["attempts"],
            prog,
            audio,
            i["path"].as_str().unwrap_or("")
        );
        if let Some(e) = i["error"].as_str() {
            let _ = writeln!(out, "{:>29}{}", "", fit(e, 50).trim_end());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bars_durations_and_width() {
        assert_eq!(bar(0.5, 8), "####----  50%");
        assert_eq!(bar(1.2, 4), "#### 100%");
        assert_eq!(duration(Some(59.4)), "59s");
        assert_eq!(duration(Some(250.0)), "4m10s");
        assert_eq!(duration(Some(7500.0)), "2h05m");
        assert_eq!(duration(None), "-");
        let row = json!({"id": 12, "name": "a-very-long-batch-name-that-goes-on", "state": "completed_with_errors",
            "progress": 0.58, "counts": {"done": 7, "failed": 1, "queued": 4}, "speed": 9.81, "eta_seconds": 130.0});
        let text = batches(&[row]);
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{line:?} is {} wide",
                line.chars().count()
            );
        }
        assert!(
            text.contains("a-very-long-batch-n~")
                && text.contains("7/12")
                && text.contains("9.8x")
                && text.contains("2m10s")
        );
    }
}
