//! PASSporT claims (RFC 8225 §5) with the `shaken`, `div` and `rcd` extensions, read from
//! and written to canonical JSON.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::json::{write_canonical, write_string};
use crate::{Attestation, Error, TelephoneNumber};

/// The PASSporT extension, the `ppt` value of the JWS header and of the Identity header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ppt {
    /// Call diversion, RFC 8946 §3.
    Div,
    /// Rich Call Data, RFC 9795.
    Rcd,
    /// SHAKEN, RFC 8588.
    Shaken,
}

impl Ppt {
    /// The registered extension name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Div => "div",
            Self::Rcd => "rcd",
            Self::Shaken => "shaken",
        }
    }
}

/// The extension name is not one we support (RFC 8225 §8.1: then the PASSporT fails).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported PASSporT extension")]
pub struct UnsupportedPpt;

impl FromStr for Ppt {
    type Err = UnsupportedPpt;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "div" => Ok(Self::Div),
            "rcd" => Ok(Self::Rcd),
            "shaken" => Ok(Self::Shaken),
            _ => Err(UnsupportedPpt),
        }
    }
}

impl fmt::Display for Ppt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One identity: the `orig` claim, or the `div` claim of RFC 8946.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Party {
    /// `{"tn":"12155551212"}`
    Tn(TelephoneNumber),
    /// `{"uri":"sip:alice@example.com"}`
    Uri(String),
}

/// The `dest` claim: an object of arrays, `tn` before `uri` (RFC 8225 §5.2.1, RFC 8224
/// erratum 5715).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    tn: Vec<TelephoneNumber>,
    uri: Vec<String>,
}

impl Dest {
    /// Destination numbers and URIs, each list put in lexicographic order (RFC 8225 §5.2.1).
    pub fn new(mut tn: Vec<TelephoneNumber>, mut uri: Vec<String>) -> Self {
        tn.sort_unstable();
        uri.sort_unstable();
        Self { tn, uri }
    }

    /// Destination numbers only.
    pub fn tns(tn: Vec<TelephoneNumber>) -> Self {
        Self::new(tn, Vec::new())
    }

    /// The telephone numbers.
    pub fn tn(&self) -> &[TelephoneNumber] {
        &self.tn
    }

    /// The URIs.
    pub fn uri(&self) -> &[String] {
        &self.uri
    }

    fn is_empty(&self) -> bool {
        self.tn.is_empty() && self.uri.is_empty()
    }
}

/// The `rcd` claim of RFC 9795: what the callee's device may display.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rcd {
    /// `apn`: alternate presentation number.
    pub apn: Option<String>,
    /// `icn`: URL of an icon.
    pub icn: Option<String>,
    /// `jcd`: a jCard (RFC 7095) given inline, kept as JSON.
    pub jcd: Option<Value>,
    /// `jcl`: URL of a jCard.
    pub jcl: Option<String>,
    /// `nam`: display name.
    pub nam: Option<String>,
}

impl Rcd {
    fn is_empty(&self) -> bool {
        self.apn.is_none()
            && self.icn.is_none()
            && self.jcd.is_none()
            && self.jcl.is_none()
            && self.nam.is_none()
    }
}

/// The claims of a PASSporT. Fields are listed in canonical (lexicographic) order.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    /// `attest` (shaken).
    pub attest: Option<Attestation>,
    /// `crn`: call reason (rcd).
    pub crn: Option<String>,
    /// `dest`: destination identities.
    pub dest: Dest,
    /// `div`: the original destination (div).
    pub div: Option<Party>,
    /// `iat`: issued-at, seconds since the epoch.
    pub iat: u64,
    /// `orig`: originating identity.
    pub orig: Party,
    /// `origid`: opaque origination identifier (shaken).
    pub origid: Option<String>,
    /// `rcd`: rich call data (rcd).
    pub rcd: Option<Rcd>,
    /// `rcdi`: integrity digests keyed by JSON pointer (rcd).
    pub rcdi: Option<BTreeMap<String, String>>,
}

impl Claims {
    /// Claims of a SHAKEN PASSporT (RFC 8588 §5).
    pub fn shaken(
        attest: Attestation,
        orig: TelephoneNumber,
        dest: Dest,
        iat: u64,
        origid: String,
    ) -> Self {
        Self {
            attest: Some(attest),
            origid: Some(origid),
            ..Self::base(Party::Tn(orig), dest, iat)
        }
    }

    /// Claims of a `div` PASSporT (RFC 8946 §3): `div` names the original destination.
    pub fn div(orig: Party, dest: Dest, iat: u64, div: Party) -> Self {
        Self {
            div: Some(div),
            ..Self::base(orig, dest, iat)
        }
    }

    /// Claims of an `rcd` PASSporT (RFC 9795).
    pub fn rcd(orig: Party, dest: Dest, iat: u64, rcd: Rcd) -> Self {
        Self {
            rcd: Some(rcd),
            ..Self::base(orig, dest, iat)
        }
    }

    fn base(orig: Party, dest: Dest, iat: u64) -> Self {
        Self {
            attest: None,
            crn: None,
            dest,
            div: None,
            iat,
            orig,
            origid: None,
            rcd: None,
            rcdi: None,
        }
    }

    /// Checks that the claims the extension makes mandatory are present and well formed.
    pub fn check_for(&self, ppt: Ppt) -> Result<(), Error> {
        if self.dest.is_empty() {
            return Err(Error::InvalidClaim {
                claim: "dest",
                reason: "has no destination",
            });
        }
        match ppt {
            Ppt::Shaken => {
                if self.attest.is_none() {
                    return Err(Error::MissingClaim { claim: "attest" });
                }
                match &self.origid {
                    None => return Err(Error::MissingClaim { claim: "origid" }),
                    Some(id) if id.is_empty() => {
                        return Err(Error::InvalidClaim {
                            claim: "origid",
                            reason: "is empty",
                        });
                    }
                    Some(_) => {}
                }
                if !matches!(self.orig, Party::Tn(_)) {
                    return Err(Error::InvalidClaim {
                        claim: "orig",
                        reason: "must be a telephone number in a shaken PASSporT",
                    });
                }
            }
            Ppt::Div => {
                if self.div.is_none() {
                    return Err(Error::MissingClaim { claim: "div" });
                }
            }
            Ppt::Rcd => match &self.rcd {
                None => return Err(Error::MissingClaim { claim: "rcd" }),
                Some(rcd) if rcd.is_empty() => {
                    return Err(Error::InvalidClaim {
                        claim: "rcd",
                        reason: "is empty",
                    });
                }
                Some(_) => {}
            },
        }
        Ok(())
    }

    /// Appends the canonical JSON of the claims (RFC 8225 §9): members in code point
    /// order, no whitespace, `iat` an integer, `orig.tn` a string and `dest.tn` an array.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        let mut obj = ObjectWriter::new(out);
        if let Some(a) = self.attest {
            obj.key("attest");
            write_string(a.as_str(), obj.out);
        }
        if let Some(crn) = &self.crn {
            obj.key("crn");
            write_string(crn, obj.out);
        }
        obj.key("dest");
        write_dest(&self.dest, obj.out);
        if let Some(div) = &self.div {
            obj.key("div");
            write_party(div, obj.out);
        }
        obj.key("iat");
        // Writing into a Vec cannot fail.
        let _ = write!(obj.out, "{}", self.iat);
        obj.key("orig");
        write_party(&self.orig, obj.out);
        if let Some(origid) = &self.origid {
            obj.key("origid");
            write_string(origid, obj.out);
        }
        if let Some(rcd) = &self.rcd {
            obj.key("rcd");
            write_rcd(rcd, obj.out);
        }
        if let Some(rcdi) = &self.rcdi {
            obj.key("rcdi");
            let mut inner = ObjectWriter::new(obj.out);
            // BTreeMap<String, _> iterates in byte order, which is code point order.
            for (k, v) in rcdi {
                inner.key(k);
                write_string(v, inner.out);
            }
            inner.end();
        }
        obj.end();
    }

    /// The canonical JSON as a string.
    pub fn to_canonical_json(&self) -> String {
        let mut out = Vec::with_capacity(192);
        self.write_canonical(&mut out);
        // Only UTF-8 strings and ASCII punctuation were written.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Reads claims from a parsed payload, with an error naming the claim at fault.
    ///
    /// Members this crate does not know are ignored: extensions may add claims (RFC 8225
    /// §8.3). Mandatory claims per extension are checked by [`Claims::check_for`].
    pub(crate) fn from_json(payload: &Value) -> Result<Self, Error> {
        let Value::Object(map) = payload else {
            return Err(Error::InvalidClaim {
                claim: "payload",
                reason: "is not a JSON object",
            });
        };
        let iat = match map.get("iat") {
            None => return Err(Error::MissingClaim { claim: "iat" }),
            Some(v) => v.as_u64().ok_or(Error::InvalidClaim {
                claim: "iat",
                reason: "must be a non-negative integer NumericDate",
            })?,
        };
        let orig = match map.get("orig") {
            None => return Err(Error::MissingClaim { claim: "orig" }),
            Some(v) => read_party(v, "orig")?,
        };
        let dest = match map.get("dest") {
            None => return Err(Error::MissingClaim { claim: "dest" }),
            Some(v) => read_dest(v)?,
        };
        let attest = match map.get("attest") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(|s| s.parse::<Attestation>().ok())
                    .ok_or(Error::InvalidClaim {
                        claim: "attest",
                        reason: "must be \"A\", \"B\" or \"C\"",
                    })?,
            ),
        };
        let origid = opt_string(map, "origid")?;
        let div = map.get("div").map(|v| read_party(v, "div")).transpose()?;
        let crn = opt_string(map, "crn")?;
        let rcd = map.get("rcd").map(read_rcd).transpose()?;
        let rcdi = map.get("rcdi").map(read_rcdi).transpose()?;
        Ok(Self {
            attest,
            crn,
            dest,
            div,
            iat,
            orig,
            origid,
            rcd,
            rcdi,
        })
    }
}

/// Writes `{`, commas between members, and `}`; the caller supplies keys in sorted order.
struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_string(key, self.out);
        self.out.push(b':');
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

fn write_party(party: &Party, out: &mut Vec<u8>) {
    let mut obj = ObjectWriter::new(out);
    match party {
        Party::Tn(tn) => {
            obj.key("tn");
            write_string(tn.as_str(), obj.out);
        }
        Party::Uri(uri) => {
            obj.key("uri");
            write_string(uri, obj.out);
        }
    }
    obj.end();
}

fn write_dest(dest: &Dest, out: &mut Vec<u8>) {
    let mut obj = ObjectWriter::new(out);
    if !dest.tn.is_empty() {
        obj.key("tn");
        write_array(dest.tn.iter().map(TelephoneNumber::as_str), obj.out);
    }
    if !dest.uri.is_empty() {
        obj.key("uri");
        write_array(dest.uri.iter().map(String::as_str), obj.out);
    }
    obj.end();
}

fn write_array<'s>(items: impl Iterator<Item = &'s str>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(s, out);
    }
    out.push(b']');
}

fn write_rcd(rcd: &Rcd, out: &mut Vec<u8>) {
    let mut obj = ObjectWriter::new(out);
    let strings = [("apn", &rcd.apn), ("icn", &rcd.icn)];
    for (k, v) in strings {
        if let Some(v) = v {
            obj.key(k);
            write_string(v, obj.out);
        }
    }
    if let Some(jcd) = &rcd.jcd {
        obj.key("jcd");
        write_canonical(jcd, obj.out);
    }
    for (k, v) in [("jcl", &rcd.jcl), ("nam", &rcd.nam)] {
        if let Some(v) = v {
            obj.key(k);
            write_string(v, obj.out);
        }
    }
    obj.end();
}

fn read_party(v: &Value, claim: &'static str) -> Result<Party, Error> {
    let bad = |reason| Error::InvalidClaim { claim, reason };
    let map = v
        .as_object()
        .ok_or(bad("must be an object with one \"tn\" or \"uri\" string"))?;
    if map.len() != 1 {
        return Err(bad("must hold exactly one identity"));
    }
    if let Some(tn) = map.get("tn") {
        let tn = tn.as_str().ok_or(bad("tn must be a string"))?;
        let tn = TelephoneNumber::from_claim(tn)
            .map_err(|_| bad("tn must be 1 to 15 digits without '+' or separators"))?;
        Ok(Party::Tn(tn))
    } else if let Some(uri) = map.get("uri") {
        Ok(Party::Uri(
            uri.as_str().ok_or(bad("uri must be a string"))?.to_owned(),
        ))
    } else {
        Err(bad("must hold \"tn\" or \"uri\""))
    }
}

fn read_dest(v: &Value) -> Result<Dest, Error> {
    let bad = |reason| Error::InvalidClaim {
        claim: "dest",
        reason,
    };
    let map = v.as_object().ok_or(bad("must be an object of arrays"))?;
    let mut tn = Vec::new();
    let mut uri = Vec::new();
    for (key, value) in map {
        let items = value.as_array().ok_or(bad("members must be arrays"))?;
        match key.as_str() {
            "tn" => {
                for item in items {
                    let s = item.as_str().ok_or(bad("tn entries must be strings"))?;
                    tn.push(
                        TelephoneNumber::from_claim(s)
                            .map_err(|_| bad("tn entries must be 1 to 15 digits"))?,
                    );
                }
            }
            "uri" => {
                for item in items {
                    let s = item.as_str().ok_or(bad("uri entries must be strings"))?;
                    uri.push(s.to_owned());
                }
            }
            _ => return Err(bad("may hold only \"tn\" and \"uri\"")),
        }
    }
    // Keep the order received: the signature covers the bytes, not our sorting.
    let dest = Dest { tn, uri };
    if dest.is_empty() {
        return Err(bad("has no destination"));
    }
    Ok(dest)
}

fn opt_string(map: &Map<String, Value>, claim: &'static str) -> Result<Option<String>, Error> {
    map.get(claim)
        .map(|v| {
            v.as_str().map(str::to_owned).ok_or(Error::InvalidClaim {
                claim,
                reason: "must be a string",
            })
        })
        .transpose()
}

fn read_rcd(v: &Value) -> Result<Rcd, Error> {
    let map = v.as_object().ok_or(Error::InvalidClaim {
        claim: "rcd",
        reason: "must be an object",
    })?;
    let field = |name: &'static str| -> Result<Option<String>, Error> {
        map.get(name)
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or(Error::InvalidClaim {
                    claim: "rcd",
                    reason: "apn, icn, jcl and nam must be strings",
                })
            })
            .transpose()
    };
    let jcd = match map.get("jcd") {
        None => None,
        Some(v @ Value::Array(_)) => Some(v.clone()),
        Some(_) => {
            return Err(Error::InvalidClaim {
                claim: "rcd",
                reason: "jcd must be a jCard array",
            });
        }
    };
    Ok(Rcd {
        apn: field("apn")?,
        icn: field("icn")?,
        jcd,
        jcl: field("jcl")?,
        nam: field("nam")?,
    })
}

fn read_rcdi(v: &Value) -> Result<BTreeMap<String, String>, Error> {
    let bad = Error::InvalidClaim {
        claim: "rcdi",
        reason: "must be an object of strings",
    };
    let map = v.as_object().ok_or(bad.clone())?;
    map.iter()
        .map(|(k, v)| Ok((k.clone(), v.as_str().ok_or(bad.clone())?.to_owned())))
        .collect()
}
