//! Printing: each figure as it is measured, with its target and verdict, and a summary table at
//! the end.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Miss,
    /// A figure printed for context, without a target.
    Info,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Miss => "MISS",
            Verdict::Info => "-",
        }
    }
}

struct Figure {
    what: String,
    value: String,
    target: String,
    verdict: Verdict,
}

#[derive(Default)]
pub struct Report {
    figures: Vec<Figure>,
}

impl Report {
    /// A figure with a target; `met` says whether the value meets it.
    pub fn judged(&mut self, what: &str, value: String, target: &str, met: bool) {
        let verdict = if met { Verdict::Pass } else { Verdict::Miss };
        println!("{what}: {value} (target {target}) {}", verdict.label());
        self.figures.push(Figure { what: what.into(), value, target: target.into(), verdict });
    }

    pub fn info(&mut self, what: &str, value: String) {
        println!("{what}: {value}");
        self.figures.push(Figure { what: what.into(), value, target: "-".into(), verdict: Verdict::Info });
    }

    pub fn print_summary(&self) {
        let rows: Vec<Vec<String>> = self
            .figures
            .iter()
            .map(|f| vec![f.what.clone(), f.value.clone(), f.target.clone(), f.verdict.label().to_string()])
            .collect();
        println!();
        println!("Summary");
        print_table(&["figure", "value", "target", "verdict"], &rows);
        let misses = self.figures.iter().filter(|f| f.verdict == Verdict::Miss).count();
        let judged = self.figures.iter().filter(|f| f.verdict != Verdict::Info).count();
        println!("{} of {judged} targets met", judged - misses);
    }
}

/// A plain-text table, columns padded to their widest cell; numbers are right-aligned.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| if is_number(cell) { format!("{cell:>width$}") } else { format!("{cell:<width$}") })
            .collect();
        println!("  {}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for row in rows {
        line(row.clone());
    }
}

fn is_number(cell: &str) -> bool {
    !cell.is_empty() && cell.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',')
}

/// `1 Service`, `1,000 Services`.
pub fn counted(count: usize, noun: &str) -> String {
    let digits = count.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let plural = if count == 1 { "" } else { "s" };
    format!("{grouped} {noun}{plural}")
}
