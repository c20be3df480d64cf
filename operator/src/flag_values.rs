//! Value checks for `elbow run`'s flags that the chart's `values.schema.json` makes too, so that a
//! value the chart would refuse is refused by the binary as well, at start-up, with the flag's name
//! (clap prints it), instead of surfacing later as a confusing AWS error. `chart-tests` runs the
//! same bad values through both.

/// A cluster name: 1 to 100 letters, digits, `-` and `_`, starting with a letter or digit. It is in
/// every ownership tag value and in resource names, which allow no spaces.
pub fn cluster_name(value: &str) -> Result<String, String> {
    let first_ok = value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if value.is_empty() || value.len() > 100 || !first_ok || !rest_ok {
        return Err(format!(
            "expected 1 to 100 letters, digits, '-' or '_', starting with a letter or digit, got {value:?}"
        ));
    }
    Ok(value.to_string())
}

/// A VPC id: `vpc-` and lowercase hexadecimal digits.
pub fn vpc_id(value: &str) -> Result<String, String> {
    match value.strip_prefix("vpc-") {
        Some(hex) if !hex.is_empty() && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) => {
            Ok(value.to_string())
        }
        _ => Err(format!("expected a VPC id like vpc-0a1b2c3d4e5f60718, got {value:?}")),
    }
}

/// An AWS region name such as `eu-west-1` or `us-gov-west-1`: lowercase words joined by `-`, the
/// first of two letters, the last a number.
pub fn region(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.split('-').collect();
    let shaped = parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts.last().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if shaped { Ok(value.to_string()) } else { Err(format!("expected a region like eu-west-1, got {value:?}")) }
}

/// An endpoint URL: `http://` or `https://` and a host.
pub fn endpoint(value: &str) -> Result<String, String> {
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() => Ok(value.to_string()),
        _ => Err(format!("expected an http:// or https:// URL, got {value:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_are_letters_digits_dashes_and_underscores() {
        for good in ["prod", "prod-eu-1", "prod_eu", "9lives", &"a".repeat(100)] {
            assert_eq!(cluster_name(good).as_deref(), Ok(good));
        }
        for bad in ["", "my cluster", "-prod", "_prod", "prod.eu", "prod/eu", &"a".repeat(101)] {
            assert!(cluster_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn vpc_ids_are_vpc_dash_hex() {
        for good in ["vpc-1", "vpc-0a1b2c3d4e5f60718"] {
            assert_eq!(vpc_id(good).as_deref(), Ok(good));
        }
        for bad in ["", "notavpc", "vpc-", "vpc-XYZ", "VPC-123", "vpc-12 ", "subnet-123"] {
            assert!(vpc_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn regions_look_like_aws_regions() {
        for good in ["eu-west-1", "us-east-2", "us-gov-west-1", "ap-southeast-4"] {
            assert_eq!(region(good).as_deref(), Ok(good));
        }
        for bad in ["", "europe", "eu-west", "EU-WEST-1", "eu west 1", "eu-west-x", "eu--1"] {
            assert!(region(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn endpoints_are_http_urls() {
        assert!(endpoint("http://127.0.0.1:5000").is_ok());
        assert!(endpoint("https://elasticloadbalancing.eu-west-1.amazonaws.com").is_ok());
        for bad in ["", "127.0.0.1:5000", "http://", "ftp://host"] {
            assert!(endpoint(bad).is_err(), "{bad:?}");
        }
    }
}
