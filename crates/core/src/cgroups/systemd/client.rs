//! The calls runc's systemd driver makes on `org.freedesktop.systemd1.Manager`, over any
//! [`Bus`]: start a transient unit and wait for its job, stop one, reset a failed one,
//! change a unit's properties, read a manager property.

use std::time::Duration;

use super::bus::{Arg, Bus, BusError, Call, Reply};
use super::properties::{Property, Value};

const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// How long runc waits for systemd to start or stop a unit.
pub const JOB_TIMEOUT: Duration = Duration::from_secs(30);

pub const UNIT_EXISTS: &str = "org.freedesktop.systemd1.UnitExists";
pub const NO_SUCH_UNIT: &str = "org.freedesktop.systemd1.NoSuchUnit";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{action} {unit}")]
    Call {
        action: &'static str,
        unit: String,
        #[source]
        source: BusError,
    },
    #[error("systemd's job to {action} {unit} ended with `{result}`")]
    Job { action: &'static str, unit: String, result: String },
    #[error("cannot read systemd's {property}")]
    Property {
        property: &'static str,
        #[source]
        source: BusError,
    },
    #[error("systemd answered {got:?} for its {property}")]
    PropertyType { property: &'static str, got: Reply },
}

impl ClientError {
    pub fn code(&self) -> crate::error::Code {
        crate::error::Code::Cgroup
    }
}

/// systemd's manager, through `bus`.
pub struct Client<B: Bus> {
    bus: B,
}

fn manager_call(member: &'static str, args: Vec<Arg>) -> Call {
    Call { path: MANAGER_PATH.into(), interface: MANAGER, member, args }
}

impl<B: Bus> Client<B> {
    pub fn new(bus: B) -> Self {
        Client { bus }
    }

    /// A property of the manager (`Version`, `ControlGroup`).
    fn manager_property(&mut self, property: &'static str) -> Result<Value, ClientError> {
        let call = Call {
            path: MANAGER_PATH.into(),
            interface: "org.freedesktop.DBus.Properties",
            member: "Get",
            args: vec![Arg::Str(MANAGER.into()), Arg::Str(property.into())],
        };
        match self.bus.call(&call).map_err(|source| ClientError::Property { property, source })? {
            Reply::Value(v) => Ok(v),
            got => Err(ClientError::PropertyType { property, got }),
        }
    }

    /// systemd's version number (`252` from `252.36-1~deb12u1`); 0 when unreadable.
    pub fn version(&mut self) -> Result<u32, ClientError> {
        match self.manager_property("Version")? {
            Value::Str(s) => Ok(version_number(&s)),
            got => Err(ClientError::PropertyType { property: "Version", got: Reply::Value(got) }),
        }
    }

    /// The manager's own cgroup (`/user.slice/user-1000.slice/user@1000.service` for a
    /// user's manager; empty or `/` for the system's).
    pub fn control_group(&mut self) -> Result<String, ClientError> {
        match self.manager_property("ControlGroup")? {
            Value::Str(s) => Ok(s),
            got => Err(ClientError::PropertyType { property: "ControlGroup", got: Reply::Value(got) }),
        }
    }

    /// `StartTransientUnit(unit, "replace", properties, [])`: returns the job that starts
    /// it ([`Client::wait_started`] waits for it). A unit of that name left failed by an
    /// earlier container is reset and the start tried once more, as runc does.
    pub fn request_start(&mut self, unit: &str, properties: Vec<Property>) -> Result<String, ClientError> {
        let call_error = |source| ClientError::Call { action: "cannot start", unit: unit.to_string(), source };
        // Before the start, so the job's end cannot pass unseen.
        self.bus.watch_jobs().map_err(call_error)?;
        let call = manager_call(
            "StartTransientUnit",
            vec![Arg::Str(unit.into()), Arg::Str("replace".into()), Arg::Properties(properties), Arg::NoAuxUnits],
        );
        let reply = match self.bus.call(&call) {
            Err(e) if e.is(UNIT_EXISTS) => {
                let _ = self.reset_failed_unit(unit);
                self.bus.call(&call)
            }
            other => other,
        }
        .map_err(call_error)?;
        match reply {
            Reply::ObjectPath(job) => Ok(job),
            other => Err(call_error(BusError::Malformed(format!("StartTransientUnit answered {other:?}")))),
        }
    }

    /// Waits for the job [`Client::request_start`] returned; a job that did not end `done`
    /// is an error, and the unit is reset so systemd forgets it.
    pub fn wait_started(&mut self, unit: &str, job: &str) -> Result<(), ClientError> {
        let result = self.bus.wait_job(job, JOB_TIMEOUT).map_err(|source| ClientError::Call {
            action: "cannot start",
            unit: unit.to_string(),
            source,
        })?;
        if result != "done" {
            let _ = self.reset_failed_unit(unit);
            return Err(ClientError::Job { action: "start", unit: unit.into(), result });
        }
        Ok(())
    }

    /// `StopUnit(unit, "replace")`, waits for the job, and resets the unit if it failed so
    /// systemd forgets it. A unit that is gone already is not an error.
    pub fn stop_unit(&mut self, unit: &str) -> Result<(), ClientError> {
        let call_error = |source| ClientError::Call { action: "cannot stop", unit: unit.to_string(), source };
        self.bus.watch_jobs().map_err(call_error)?;
        let call = manager_call("StopUnit", vec![Arg::Str(unit.into()), Arg::Str("replace".into())]);
        match self.bus.call(&call) {
            Ok(Reply::ObjectPath(job)) => {
                // A job that ends otherwise than `done` still stopped what it could; the
                // reset below lets systemd drop the unit either way.
                self.bus.wait_job(&job, JOB_TIMEOUT).map_err(call_error)?;
            }
            Ok(_) => {}
            Err(e) if e.is(NO_SUCH_UNIT) => {}
            Err(e) => return Err(call_error(e)),
        }
        let _ = self.reset_failed_unit(unit);
        Ok(())
    }

    /// `AttachProcessesToUnit(unit, "/", [pid])`: systemd moves the process into the
    /// unit's cgroup. A user's manager asks the system's when the user may not move it
    /// (the common ancestor of the two cgroups is root's).
    pub fn attach_process(&mut self, unit: &str, pid: u32) -> Result<(), ClientError> {
        let call = manager_call(
            "AttachProcessesToUnit",
            vec![Arg::Str(unit.into()), Arg::Str("/".into()), Arg::Pids(vec![pid])],
        );
        self.bus.call(&call).map(drop).map_err(|source| ClientError::Call {
            action: "cannot move a process into",
            unit: unit.into(),
            source,
        })
    }

    pub fn reset_failed_unit(&mut self, unit: &str) -> Result<(), ClientError> {
        match self.bus.call(&manager_call("ResetFailedUnit", vec![Arg::Str(unit.into())])) {
            Ok(_) => Ok(()),
            Err(e) if e.is(NO_SUCH_UNIT) => Ok(()),
            Err(source) => Err(ClientError::Call { action: "cannot reset", unit: unit.into(), source }),
        }
    }

    /// `SetUnitProperties(unit, runtime=true, properties)`: changed until the unit goes
    /// away, as runc sets them.
    pub fn set_unit_properties(&mut self, unit: &str, properties: Vec<Property>) -> Result<(), ClientError> {
        if properties.is_empty() {
            return Ok(());
        }
        let call = manager_call(
            "SetUnitProperties",
            vec![Arg::Str(unit.into()), Arg::Bool(true), Arg::Properties(properties)],
        );
        self.bus.call(&call).map(drop).map_err(|source| ClientError::Call {
            action: "cannot set the properties of",
            unit: unit.into(),
            source,
        })
    }
}

/// The leading number of a version string (`v245.4-1.fc32`, `252.36-1~deb12u1` → 252).
pub fn version_number(text: &str) -> u32 {
    let digits: String = text.trim_start_matches(['"', 'v']).chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod fake {
    use std::collections::VecDeque;

    use super::*;

    /// Records every call and answers from a script, in order.
    #[derive(Default)]
    pub struct FakeBus {
        pub calls: Vec<Call>,
        pub answers: VecDeque<Result<Reply, BusError>>,
        pub job_results: VecDeque<String>,
        pub watched: usize,
    }

    impl Bus for &mut FakeBus {
        fn call(&mut self, call: &Call) -> Result<Reply, BusError> {
            self.calls.push(call.clone());
            self.answers.pop_front().unwrap_or(Ok(Reply::Empty))
        }
        fn watch_jobs(&mut self) -> Result<(), BusError> {
            self.watched += 1;
            Ok(())
        }
        fn wait_job(&mut self, _job: &str, _timeout: Duration) -> Result<String, BusError> {
            Ok(self.job_results.pop_front().unwrap_or_else(|| "done".into()))
        }
    }

    pub fn remote(name: &str) -> BusError {
        BusError::Remote { name: name.into(), message: "test".into() }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{remote, FakeBus};
    use super::*;
    use crate::cgroups::systemd::properties::prop;

    fn job() -> Result<Reply, BusError> {
        Ok(Reply::ObjectPath("/org/freedesktop/systemd1/job/1".into()))
    }

    #[test]
    fn a_start_waits_for_its_job() {
        let mut bus = FakeBus { answers: [job()].into(), ..FakeBus::default() };
        let mut client = Client::new(&mut bus);
        let job = client.request_start("runc-x.scope", vec![prop("Delegate", Value::Bool(true))]).unwrap();
        client.wait_started("runc-x.scope", &job).unwrap();
        assert_eq!(bus.watched, 1, "JobRemoved is watched before the start");
        assert_eq!(bus.calls.len(), 1);
        assert_eq!(bus.calls[0].member, "StartTransientUnit");
        assert_eq!(bus.calls[0].args[0], Arg::Str("runc-x.scope".into()));
        assert_eq!(bus.calls[0].args[1], Arg::Str("replace".into()));
        assert_eq!(bus.calls[0].args[3], Arg::NoAuxUnits);
    }

    #[test]
    fn a_leftover_unit_is_reset_and_the_start_retried_once() {
        let mut bus =
            FakeBus { answers: [Err(remote(UNIT_EXISTS)), Ok(Reply::Empty), job()].into(), ..FakeBus::default() };
        Client::new(&mut bus).request_start("runc-x.scope", vec![]).unwrap();
        let members: Vec<_> = bus.calls.iter().map(|c| c.member).collect();
        assert_eq!(members, ["StartTransientUnit", "ResetFailedUnit", "StartTransientUnit"]);

        let mut bus = FakeBus {
            answers: [Err(remote(UNIT_EXISTS)), Ok(Reply::Empty), Err(remote(UNIT_EXISTS))].into(),
            ..FakeBus::default()
        };
        let e = Client::new(&mut bus).request_start("runc-x.scope", vec![]).unwrap_err();
        assert!(matches!(e, ClientError::Call { source, .. } if source.is(UNIT_EXISTS)));
    }

    #[test]
    fn a_failed_job_is_an_error_and_the_unit_is_reset() {
        let mut bus = FakeBus { answers: [job()].into(), job_results: ["failed".into()].into(), ..FakeBus::default() };
        let mut client = Client::new(&mut bus);
        let job = client.request_start("runc-x.scope", vec![]).unwrap();
        let e = client.wait_started("runc-x.scope", &job).unwrap_err();
        assert_eq!(e.to_string(), "systemd's job to start runc-x.scope ended with `failed`");
        assert_eq!(bus.calls.last().unwrap().member, "ResetFailedUnit");
    }

    #[test]
    fn stopping_a_unit_that_is_gone_is_fine() {
        let mut bus =
            FakeBus { answers: [Err(remote(NO_SUCH_UNIT)), Err(remote(NO_SUCH_UNIT))].into(), ..FakeBus::default() };
        Client::new(&mut bus).stop_unit("runc-x.scope").unwrap();
        let members: Vec<_> = bus.calls.iter().map(|c| c.member).collect();
        assert_eq!(members, ["StopUnit", "ResetFailedUnit"]);
        let mut bus =
            FakeBus { answers: [Err(remote("org.freedesktop.DBus.Error.AccessDenied"))].into(), ..FakeBus::default() };
        assert!(Client::new(&mut bus).stop_unit("runc-x.scope").is_err());
    }

    #[test]
    fn properties_are_set_for_the_runtime_only() {
        let mut bus = FakeBus::default();
        let mut client = Client::new(&mut bus);
        client.set_unit_properties("u.scope", vec![]).unwrap();
        client.set_unit_properties("u.scope", vec![prop("TasksMax", Value::U64(5))]).unwrap();
        assert_eq!(bus.calls.len(), 1, "nothing to set, nothing sent");
        assert_eq!(bus.calls[0].args[1], Arg::Bool(true));
    }

    #[test]
    fn a_process_is_attached_to_the_units_own_cgroup() {
        let mut bus = FakeBus::default();
        Client::new(&mut bus).attach_process("u.scope", 42).unwrap();
        assert_eq!(bus.calls[0].member, "AttachProcessesToUnit");
        assert_eq!(bus.calls[0].args, [Arg::Str("u.scope".into()), Arg::Str("/".into()), Arg::Pids(vec![42])]);
    }

    #[test]
    fn manager_properties_are_read_with_properties_get() {
        let mut bus = FakeBus {
            answers: [Ok(Reply::Value(Value::Str("252.36-1~deb12u1".into()))), Ok(Reply::ObjectPath("/x".into()))]
                .into(),
            ..FakeBus::default()
        };
        let mut client = Client::new(&mut bus);
        assert_eq!(client.version().unwrap(), 252);
        assert!(client.control_group().is_err());
        assert_eq!(bus.calls[0].interface, "org.freedesktop.DBus.Properties");
        assert_eq!(bus.calls[0].args, [Arg::Str(MANAGER.into()), Arg::Str("Version".into())]);
    }

    #[test]
    fn version_strings_have_a_leading_number() {
        assert_eq!(version_number("v245.4-1.fc32"), 245);
        assert_eq!(version_number("\"252\""), 252);
        assert_eq!(version_number("252.36-1~deb12u1"), 252);
        assert_eq!(version_number("unknown"), 0);
    }
}
