//! The systemd cgroup driver (runc's `--systemd-cgroup`): the container's init is put in a
//! transient scope that systemd creates with `Delegate=yes`, its limits set as unit
//! properties, so systemd knows them, owns the cgroup and never undoes them. Everything
//! else is the cgroupfs code, on the scope's directory, as runc's systemd managers wrap
//! its fs managers: the cgroup files are written there too (systemd does not know every
//! limit), and pause, stats, exec and kill read and write them as for any container.
//!
//! Order, in `create`: [`Systemd::prepare`] connects and works out the scope's cgroup
//! before anything is made (an unreachable systemd changes nothing); the init is cloned
//! and waits on its channel; [`Systemd::start`] asks systemd for the scope with the init's
//! pid and waits for the job to finish, so the init is in the scope before it goes on.
//! The bus client starts no thread (see [`bus`]); it runs before the clone (prepare) and
//! after it, in the runtime only.

mod bus;
mod client;
mod names;
mod properties;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use bus::BusError;
pub use client::ClientError;
pub use names::{expand_slice, UnitName};
pub use properties::{range_to_bits, Flavor};

use self::bus::{Address, Connection};
use self::client::Client;
use self::properties::{prop, Target, Value};
use super::{CgroupPath, Setup};

/// What a container's state remembers of its unit, for `update` and `delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unit {
    /// `runc-abc.scope`.
    pub name: String,
    /// `system.slice`.
    pub slice: String,
    /// Whether a user's own systemd manages it (through the session bus), not the system's.
    pub user: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    #[error("systemd not running on this host, cannot use systemd cgroups manager")]
    NotRunning,
    #[error("cannot connect to {manager} over D-Bus{hint}")]
    Connect {
        manager: &'static str,
        hint: &'static str,
        #[source]
        source: BusError,
    },
    #[error(
        "cannot find the user's systemd: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set (a login session sets them; otherwise `systemctl start user@UID` and XDG_RUNTIME_DIR=/run/user/UID)"
    )]
    NoUserBus,
    #[error("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"{path}\" instead")]
    CgroupsPath { path: String },
    #[error("invalid slice name: {name}")]
    SliceName { name: String },
    #[error("invalid unit name `{name}` in cgroupsPath")]
    UnitName { name: String },
    #[error("invalid CPU or memory node list `{list}`")]
    CpuList { list: String },
    #[error("unified resource `{key}` has an invalid value `{value}`")]
    Unified { key: String, value: String },
    #[error("cannot use rootless systemd cgroups manager on cgroup v1")]
    RootlessV1,
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl SystemdError {
    pub fn code(&self) -> crate::error::Code {
        use crate::error::Code;
        match self {
            SystemdError::NotRunning | SystemdError::Connect { .. } | SystemdError::NoUserBus => Code::Cgroup,
            SystemdError::CgroupsPath { .. }
            | SystemdError::SliceName { .. }
            | SystemdError::UnitName { .. }
            | SystemdError::CpuList { .. }
            | SystemdError::Unified { .. } => Code::InvalidConfig,
            SystemdError::RootlessV1 => Code::Unsupported,
            SystemdError::Client(e) => e.code(),
        }
    }
}

const SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";
/// systemd's own socket, for root when no bus daemon runs (as go-systemd falls back).
const SYSTEMD_PRIVATE: &str = "/run/systemd/private";
const USER_BUS_HINT: &str =
    " (for rootless containers the session bus of the user's systemd is needed: install dbus-user-session)";

/// A connection to the systemd that manages a container's scope.
pub struct Systemd {
    client: Client<Connection>,
    unit: Unit,
    version: u32,
    flavor: Flavor,
    /// Whether systemd took this connection's request to start the unit: only then is the
    /// unit ours to stop when the creation fails (a unit of that name may be another
    /// container's).
    started: bool,
}

impl Systemd {
    /// Connects to the systemd that manages this user's containers (the system's for root,
    /// the user's own otherwise) and names the scope for `cgroups_path` (runc's
    /// `slice:prefix:name`); returns the scope's cgroup path, absolute.
    pub fn prepare(
        cgroups_path: Option<&str>,
        id: &str,
        cgroup_root: &Path,
    ) -> Result<(Self, CgroupPath), SystemdError> {
        let user = !crate::userns::privileged();
        let name = names::parse(cgroups_path, id, user)?;
        let unit = Unit { name: name.unit.clone(), slice: name.slice.clone(), user };
        let mut systemd = Self::connect(&unit, cgroup_root)?;
        let manager_cgroup = if user { systemd.client.control_group()? } else { String::new() };
        let manager_cgroup = if manager_cgroup.is_empty() { "/".to_string() } else { manager_cgroup };
        let path = name.cgroup(Path::new(&manager_cgroup))?;
        Ok((systemd, CgroupPath(path)))
    }

    /// Connects to the systemd that manages `unit`.
    pub fn connect(unit: &Unit, cgroup_root: &Path) -> Result<Self, SystemdError> {
        if !Path::new("/run/systemd/system").is_dir() {
            return Err(SystemdError::NotRunning);
        }
        let flavor = match super::detect(cgroup_root) {
            Ok(Setup::Unified) => Flavor::V2,
            _ => Flavor::V1,
        };
        if unit.user && flavor == Flavor::V1 {
            return Err(SystemdError::RootlessV1);
        }
        let connection = if unit.user { user_connection()? } else { system_connection()? };
        let mut client = Client::new(connection);
        let version = client.version()?;
        Ok(Systemd { client, unit: unit.clone(), version, flavor, started: false })
    }

    pub fn unit(&self) -> &Unit {
        &self.unit
    }

    fn target(&self) -> Target {
        Target { flavor: self.flavor, version: self.version, devices: !self.unit.user }
    }

    /// Starts the scope with `pid` in it and the limits of `resources`, and waits until
    /// systemd has made it. Returns the resources as the cgroup files must then say them.
    pub fn start(&mut self, pid: i32, resources: Option<&LinuxResources>) -> Result<LinuxResources, SystemdError> {
        let accounting = if self.flavor == Flavor::V2 { "IOAccounting" } else { "BlockIOAccounting" };
        let mut props = vec![
            prop("Description", Value::Str(format!("tscontainer container {}", self.unit.name))),
            prop("Slice", Value::Str(self.unit.slice.clone())),
            prop("Delegate", Value::Bool(true)),
            prop("PIDs", Value::U32s(vec![pid as u32])),
            // Accounting on from the start, as runc does: the kernel charges memory to
            // the cgroup a process is in when it allocates, not when it is moved.
            prop("MemoryAccounting", Value::Bool(true)),
            prop("CPUAccounting", Value::Bool(true)),
            prop(accounting, Value::Bool(true)),
            prop("TasksAccounting", Value::Bool(true)),
            prop("DefaultDependencies", Value::Bool(false)),
        ];
        let resources = resources.cloned().unwrap_or_default();
        // systemd takes OOMPolicy only when a unit is made (from systemd 253).
        if let Some(group) = resources.unified().as_ref().and_then(|u| u.get("memory.oom.group")) {
            if self.version >= 253 && self.flavor == Flavor::V2 {
                match group.trim() {
                    "0" => props.push(prop("OOMPolicy", Value::Str("continue".into()))),
                    "1" => props.push(prop("OOMPolicy", Value::Str("kill".into()))),
                    _ => {}
                }
            }
        }
        let (limits, written) = properties::from_resources(&resources, self.target())?;
        props.extend(limits);
        let job = self.client.request_start(&self.unit.name, props)?;
        self.started = true;
        self.client.wait_started(&self.unit.name, &job)?;
        Ok(written)
    }

    /// Whether [`Systemd::start`] got as far as systemd taking the request.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Sets the limits of `resources` on the unit (device rules excepted: `update` does
    /// not change them); returns them as the cgroup files must then say them.
    pub fn update(&mut self, resources: &LinuxResources) -> Result<LinuxResources, SystemdError> {
        let target = Target { devices: false, ..self.target() };
        let (props, written) = properties::from_resources(resources, target)?;
        self.client.set_unit_properties(&self.unit.name, props)?;
        Ok(written)
    }

    /// Has systemd move `pid` into the unit's cgroup (an exec'd process of a user's
    /// container: the user may not move it there, systemd may).
    pub fn attach(&mut self, pid: i32) -> Result<(), SystemdError> {
        Ok(self.client.attach_process(&self.unit.name, pid as u32)?)
    }

    /// Stops the unit and has systemd forget it; a unit that is gone already is fine.
    pub fn stop(&mut self) -> Result<(), SystemdError> {
        Ok(self.client.stop_unit(&self.unit.name)?)
    }
}

/// The system bus (`DBUS_SYSTEM_BUS_ADDRESS` or the standard socket), else, for root,
/// systemd's private socket.
fn system_connection() -> Result<Connection, SystemdError> {
    let text = std::env::var("DBUS_SYSTEM_BUS_ADDRESS").unwrap_or_else(|_| SYSTEM_BUS.to_string());
    let error = |source| SystemdError::Connect { manager: "systemd", hint: "", source };
    let address = bus::parse_address(&text).map_err(error)?;
    match Connection::open(&address, true) {
        Ok(c) => Ok(c),
        Err(e) if nix::unistd::geteuid().is_root() && bus::socket_exists(Path::new(SYSTEMD_PRIVATE)) => {
            Connection::open(&Address::Path(PathBuf::from(SYSTEMD_PRIVATE)), false).map_err(|_| error(e))
        }
        Err(e) => Err(error(e)),
    }
}

/// The user's session bus, as runc finds it: `DBUS_SESSION_BUS_ADDRESS`, else
/// `$XDG_RUNTIME_DIR/bus`; else the user manager's private socket beside it.
fn user_connection() -> Result<Connection, SystemdError> {
    let error = |source| SystemdError::Connect { manager: "the user's systemd", hint: USER_BUS_HINT, source };
    if let Some(text) = std::env::var("DBUS_SESSION_BUS_ADDRESS").ok().filter(|t| !t.is_empty()) {
        let address = bus::parse_address(&text).map_err(error)?;
        return Connection::open(&address, true).map_err(error);
    }
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()).ok_or(SystemdError::NoUserBus)?;
    let runtime_dir = PathBuf::from(runtime_dir);
    let session = runtime_dir.join("bus");
    let private = runtime_dir.join("systemd/private");
    if !bus::socket_exists(&session) && bus::socket_exists(&private) {
        return Connection::open(&Address::Path(private), false).map_err(error);
    }
    Connection::open(&Address::Path(session), true).map_err(error)
}
