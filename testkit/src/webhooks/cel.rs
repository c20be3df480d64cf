//! The part of CEL that webhook match conditions are usually written in, evaluated as
//! kube-apiserver evaluates them: field selection on `object`, `oldObject` and `request`,
//! `has()`, `==` and `!=`, `!`, `&&` and `||` (commutative over errors, as CEL's are), string,
//! integer, boolean and null literals, and parentheses.
//!
//! The same subset serves CustomResourceDefinitions' `x-kubernetes-validations` rules
//! ([`parse_rule`]), whose variables are `self` (the value at the rule's place in the schema) and
//! `oldSelf` (its value before an update): `self == oldSelf` for an immutable field, `has()` for
//! exactly one of two fields.
//!
//! An expression outside this subset is refused when the configuration is written, so a
//! configuration is either evaluated faithfully or not stored at all; never half understood.

use std::fmt;

use serde_json::Value;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value),
    /// A root variable and the fields selected from it: `object.spec.type`.
    Select {
        root: Root,
        fields: Vec<String>,
    },
    /// `has(object.spec.type)`: whether the last field is present.
    Has {
        root: Root,
        fields: Vec<String>,
    },
    Not(Box<Expr>),
    Equals(Box<Expr>, Box<Expr>, bool),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Object,
    OldObject,
    Request,
}

/// The variables a match condition sees: the object (null on DELETE), the old object (null on
/// CREATE) and the admission request's attributes.
pub struct Variables<'a> {
    pub object: &'a Value,
    pub old_object: &'a Value,
    pub request: &'a Value,
}

/// Why an expression could not be evaluated (CEL's "no such key", "no matching overload").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError(pub String);

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `source`, or says why it is not in the subset this server evaluates.
pub fn parse(source: &str) -> Result<Expr, String> {
    parse_in(source, Dialect::MatchCondition)
}

/// Parses a CRD validation rule. Its `self` is evaluated as [`Variables::object`] and its
/// `oldSelf` as [`Variables::old_object`]; `object`, `oldObject` and `request` are undeclared.
pub fn parse_rule(source: &str) -> Result<Expr, String> {
    parse_in(source, Dialect::ValidationRule)
}

/// Whether an expression reads the old value: a transition rule, which kube-apiserver evaluates
/// only on updates of a value that existed before.
pub fn reads_old(expr: &Expr) -> bool {
    match expr {
        Expr::Literal(_) => false,
        Expr::Select { root, .. } | Expr::Has { root, .. } => *root == Root::OldObject,
        Expr::Not(inner) => reads_old(inner),
        Expr::Equals(left, right, _) | Expr::And(left, right) | Expr::Or(left, right) => {
            reads_old(left) || reads_old(right)
        }
    }
}

/// Which variables an expression may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// `object`, `oldObject`, `request`.
    MatchCondition,
    /// `self`, `oldSelf`.
    ValidationRule,
}

fn parse_in(source: &str, dialect: Dialect) -> Result<Expr, String> {
    let tokens = tokenize(source)?;
    let mut parser = Parser { tokens, at: 0, dialect };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) => Err(format!("unexpected {token} after a complete expression")),
    }
}

/// Evaluates a condition; a non-boolean result is an error, as in kube-apiserver.
pub fn evaluate_condition(expr: &Expr, vars: &Variables<'_>) -> Result<bool, EvalError> {
    match evaluate(expr, vars)? {
        Value::Bool(b) => Ok(b),
        other => Err(EvalError(format!("expression must evaluate to bool, got {}", type_name(&other)))),
    }
}

fn evaluate(expr: &Expr, vars: &Variables<'_>) -> Result<Value, EvalError> {
    match expr {
        Expr::Literal(value) => Ok(value.clone()),
        Expr::Select { root, fields } => select(root_value(*root, vars), fields).cloned(),
        Expr::Has { root, fields } => {
            let (last, parents) = fields.split_last().ok_or_else(|| EvalError("has() needs a field".into()))?;
            match select(root_value(*root, vars), parents)? {
                Value::Object(map) => Ok(Value::Bool(map.contains_key(last))),
                other => Err(EvalError(format!("no such key: {last} (on {})", type_name(other)))),
            }
        }
        Expr::Not(inner) => match evaluate(inner, vars)? {
            Value::Bool(b) => Ok(Value::Bool(!b)),
            other => Err(no_overload("!_", &other)),
        },
        Expr::Equals(left, right, equal) => {
            let (l, r) = (evaluate(left, vars)?, evaluate(right, vars)?);
            Ok(Value::Bool((l == r) == *equal))
        }
        // CEL's logical operators are commutative: a decisive operand wins over an error on the
        // other side, whichever side it is on.
        Expr::And(left, right) => logical(evaluate(left, vars), || evaluate(right, vars), false),
        Expr::Or(left, right) => logical(evaluate(left, vars), || evaluate(right, vars), true),
    }
}

/// `&&` (decisive: false) and `||` (decisive: true).
fn logical(
    left: Result<Value, EvalError>,
    right: impl FnOnce() -> Result<Value, EvalError>,
    decisive: bool,
) -> Result<Value, EvalError> {
    let as_bool = |value: Result<Value, EvalError>| match value? {
        Value::Bool(b) => Ok(b),
        other => Err(no_overload(if decisive { "_||_" } else { "_&&_" }, &other)),
    };
    let left = as_bool(left);
    if left == Ok(decisive) {
        return Ok(Value::Bool(decisive));
    }
    let right = as_bool(right());
    if right == Ok(decisive) {
        return Ok(Value::Bool(decisive));
    }
    left?;
    right?;
    Ok(Value::Bool(!decisive))
}

fn root_value<'a>(root: Root, vars: &Variables<'a>) -> &'a Value {
    match root {
        Root::Object => vars.object,
        Root::OldObject => vars.old_object,
        Root::Request => vars.request,
    }
}

fn select<'a>(mut value: &'a Value, fields: &[String]) -> Result<&'a Value, EvalError> {
    for field in fields {
        value = match value {
            Value::Object(map) => map.get(field).ok_or_else(|| EvalError(format!("no such key: {field}")))?,
            other => return Err(EvalError(format!("no such key: {field} (on {})", type_name(other)))),
        };
    }
    Ok(value)
}

fn no_overload(operator: &str, operand: &Value) -> EvalError {
    EvalError(format!("no matching overload for '{operator}' applied to '({})'", type_name(operand)))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null_type",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "double",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Dot,
    Open,
    Close,
    Not,
    And,
    Or,
    Eq,
    Ne,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(name) => write!(f, "'{name}'"),
            Token::Str(s) => write!(f, "string {s:?}"),
            Token::Int(i) => write!(f, "integer {i}"),
            Token::Dot => f.write_str("'.'"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::Not => f.write_str("'!'"),
            Token::And => f.write_str("'&&'"),
            Token::Or => f.write_str("'||'"),
            Token::Eq => f.write_str("'=='"),
            Token::Ne => f.write_str("'!='"),
        }
    }
}

/// Operators and punctuation, two-character ones first so that `!=` is not read as `!`.
/// A lone `=`, `&` or `|` is no CEL operator and falls through to the error for unknown characters.
const SYMBOLS: [(&str, Token); 8] = [
    ("&&", Token::And),
    ("||", Token::Or),
    ("==", Token::Eq),
    ("!=", Token::Ne),
    ("!", Token::Not),
    (".", Token::Dot),
    ("(", Token::Open),
    (")", Token::Close),
];

fn tokenize(source: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if let Some((symbol, token)) = SYMBOLS.iter().find(|(symbol, _)| rest.starts_with(symbol)) {
            tokens.push(token.clone());
            i += symbol.len();
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let (text, end) = string_literal(&chars, i)?;
            tokens.push(Token::Str(text));
            i = end;
        } else if c.is_ascii_digit() {
            let digits = take_while(&chars, &mut i, |c| c.is_ascii_digit());
            tokens.push(Token::Int(digits.parse().map_err(|_| format!("integer {digits} out of range"))?));
        } else if c.is_ascii_alphabetic() || c == '_' {
            tokens.push(Token::Ident(take_while(&chars, &mut i, |c| c.is_ascii_alphanumeric() || c == '_')));
        } else {
            return Err(format!("'{c}' is outside the CEL subset elbow-testkit evaluates"));
        }
    }
    Ok(tokens)
}

/// The characters from `*i` on that satisfy `keep`, advancing `*i` past them.
fn take_while(chars: &[char], i: &mut usize, keep: impl Fn(char) -> bool) -> String {
    let start = *i;
    while *i < chars.len() && keep(chars[*i]) {
        *i += 1;
    }
    chars[start..*i].iter().collect()
}

/// A quoted string from `start` (the quote): its text and the index after the closing quote.
fn string_literal(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let quote = chars[start];
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            c if c == quote => return Ok((text, i + 1)),
            '\\' => {
                let escaped = chars.get(i + 1).ok_or("unterminated string literal")?;
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    '\\' | '\'' | '"' => *escaped,
                    other => return Err(format!("escape \\{other} is outside the CEL subset elbow-testkit evaluates")),
                });
                i += 2;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err("unterminated string literal".into())
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    dialect: Dialect,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, wanted: &Token) -> Result<(), String> {
        match self.next() {
            Some(token) if token == *wanted => Ok(()),
            Some(token) => Err(format!("expected {wanted}, found {token}")),
            None => Err(format!("expected {wanted} at the end of the expression")),
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.next();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.equality()?;
        while self.peek() == Some(&Token::And) {
            self.next();
            left = Expr::And(Box::new(left), Box::new(self.equality()?));
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Expr, String> {
        let left = self.unary()?;
        let equal = match self.peek() {
            Some(Token::Eq) => true,
            Some(Token::Ne) => false,
            _ => return Ok(left),
        };
        self.next();
        Ok(Expr::Equals(Box::new(left), Box::new(self.unary()?), equal))
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(&Token::Not) {
            self.next();
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                self.expect(&Token::Close)?;
                Ok(inner)
            }
            Some(Token::Str(s)) => Ok(Expr::Literal(Value::String(s))),
            Some(Token::Int(i)) => Ok(Expr::Literal(Value::from(i))),
            Some(Token::Ident(name)) => match name.as_str() {
                "true" => Ok(Expr::Literal(Value::Bool(true))),
                "false" => Ok(Expr::Literal(Value::Bool(false))),
                "null" => Ok(Expr::Literal(Value::Null)),
                "has" => {
                    self.expect(&Token::Open)?;
                    let root = self.root()?;
                    let fields = self.fields()?;
                    if fields.is_empty() {
                        return Err("has() takes a field selection, such as has(object.spec)".into());
                    }
                    self.expect(&Token::Close)?;
                    Ok(Expr::Has { root, fields })
                }
                _ => {
                    let root = root_named(&name, self.dialect)?;
                    Ok(Expr::Select { root, fields: self.fields()? })
                }
            },
            Some(token) => Err(format!("unexpected {token}")),
            None => Err("the expression ends too early".into()),
        }
    }

    fn root(&mut self) -> Result<Root, String> {
        match self.next() {
            Some(Token::Ident(name)) => root_named(&name, self.dialect),
            Some(token) => Err(format!("expected a variable, found {token}")),
            None => Err("expected a variable at the end of the expression".into()),
        }
    }

    fn fields(&mut self) -> Result<Vec<String>, String> {
        let mut fields = Vec::new();
        while self.peek() == Some(&Token::Dot) {
            self.next();
            match self.next() {
                Some(Token::Ident(field)) => fields.push(field),
                Some(token) => return Err(format!("expected a field name after '.', found {token}")),
                None => return Err("expected a field name after '.'".into()),
            }
        }
        if self.peek() == Some(&Token::Open) {
            return Err("function calls other than has() are outside the CEL subset elbow-testkit evaluates".into());
        }
        Ok(fields)
    }
}

fn root_named(name: &str, dialect: Dialect) -> Result<Root, String> {
    match (dialect, name) {
        (Dialect::MatchCondition, "object") | (Dialect::ValidationRule, "self") => Ok(Root::Object),
        (Dialect::MatchCondition, "oldObject") | (Dialect::ValidationRule, "oldSelf") => Ok(Root::OldObject),
        (Dialect::MatchCondition, "request") => Ok(Root::Request),
        (Dialect::MatchCondition, "authorizer") => {
            Err("'authorizer' is outside the CEL subset elbow-testkit evaluates".into())
        }
        (_, other) => Err(format!("undeclared reference to '{other}'")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(source: &str, object: Value) -> Result<bool, EvalError> {
        let expr = parse(source).unwrap();
        evaluate_condition(&expr, &Variables { object: &object, old_object: &Value::Null, request: &json!({}) })
    }

    const CLASS_LESS_LOAD_BALANCER: &str = "has(object.spec.type) && object.spec.type == 'LoadBalancer' && \
         (!has(object.spec.loadBalancerClass) || object.spec.loadBalancerClass == '')";

    #[test]
    fn a_class_less_load_balancer_condition_picks_exactly_those_services() {
        let service = |spec: Value| json!({ "spec": spec });
        assert_eq!(eval(CLASS_LESS_LOAD_BALANCER, service(json!({ "type": "LoadBalancer" }))), Ok(true));
        let empty_class = json!({ "type": "LoadBalancer", "loadBalancerClass": "" });
        assert_eq!(eval(CLASS_LESS_LOAD_BALANCER, service(empty_class)), Ok(true));
        let classed = json!({ "type": "LoadBalancer", "loadBalancerClass": "x" });
        assert_eq!(eval(CLASS_LESS_LOAD_BALANCER, service(classed)), Ok(false));
        assert_eq!(eval(CLASS_LESS_LOAD_BALANCER, service(json!({ "type": "ClusterIP" }))), Ok(false));
        assert_eq!(eval(CLASS_LESS_LOAD_BALANCER, service(json!({}))), Ok(false));
    }

    #[test]
    fn selecting_a_missing_field_is_an_error_unless_the_other_side_decides() {
        assert_eq!(eval("object.spec.type == 'x'", json!({ "spec": {} })), Err(EvalError("no such key: type".into())));
        // Commutative: false on either side of && decides, true on either side of || decides.
        assert_eq!(eval("object.spec.type == 'x' && false", json!({ "spec": {} })), Ok(false));
        assert_eq!(eval("false && object.spec.type == 'x'", json!({ "spec": {} })), Ok(false));
        assert_eq!(eval("object.spec.type == 'x' || true", json!({ "spec": {} })), Ok(true));
        assert!(eval("object.spec.type == 'x' && true", json!({ "spec": {} })).is_err());
        // On DELETE there is no object: selecting from null is an error, has() on it too.
        assert!(eval("has(object.spec)", Value::Null).is_err());
    }

    #[test]
    fn a_non_boolean_result_or_operand_is_an_error() {
        assert!(eval("object.spec", json!({ "spec": {} })).unwrap_err().0.contains("must evaluate to bool"));
        assert!(eval("!object.spec", json!({ "spec": {} })).unwrap_err().0.contains("no matching overload"));
        assert_eq!(eval("object.n == 3 && object.s != \"a\\\"b\"", json!({ "n": 3, "s": "a\"b" })), Ok(false));
    }

    #[test]
    fn expressions_outside_the_subset_are_refused_when_parsed() {
        for source in [
            "object.metadata.name.startsWith('a')",
            "size(object.spec.ports) > 1",
            "authorizer.group('').resource('pods').check('get').allowed()",
            "object.spec.type in ['a']",
            "unknown == 1",
            "(true",
            "true false",
        ] {
            assert!(parse(source).is_err(), "{source} parsed");
        }
    }

    #[test]
    fn validation_rules_name_self_and_old_self_and_nothing_else() {
        let immutable = parse_rule("self == oldSelf").unwrap();
        assert!(reads_old(&immutable));
        let vars = |new: &Value, old: &Value| {
            evaluate_condition(&immutable, &Variables { object: new, old_object: old, request: &Value::Null })
        };
        assert_eq!(vars(&json!("a"), &json!("a")), Ok(true));
        assert_eq!(vars(&json!("a"), &json!("b")), Ok(false));
        let one_of = parse_rule("has(self.a) != has(self.b)").unwrap();
        assert!(!reads_old(&one_of));
        let spec = json!({ "a": 1 });
        assert_eq!(
            evaluate_condition(&one_of, &Variables { object: &spec, old_object: &Value::Null, request: &Value::Null }),
            Ok(true)
        );
        assert!(parse_rule("object.spec == oldSelf").is_err(), "object is a match condition's variable");
        assert!(parse("self == oldSelf").is_err(), "self is a validation rule's variable");
        assert!(parse_rule("self.size() > 1").is_err());
    }
}
