//! Becoming the spec's user: supplementary groups, then gid and uid, keeping the
//! permitted capabilities across the switch so the spec's sets can be applied after it.

use oci_spec::runtime::User;

use super::ProcessError;
use crate::syscall::Syscall;

/// `allow_setgroups` is false in a user namespace whose `setgroups` file says "deny".
pub fn switch_user(user: &User, allow_setgroups: bool, sys: &dyn Syscall) -> Result<(), ProcessError> {
    let (uid, gid) = (user.uid(), user.gid());
    let fail = |source| ProcessError::User { uid, gid, source };
    if allow_setgroups {
        let groups = user.additional_gids().clone().unwrap_or_default();
        sys.setgroups(&groups).map_err(fail)?;
    }
    sys.set_keep_capabilities(true).map_err(fail)?;
    sys.set_ids(uid, gid).map_err(fail)?;
    sys.set_keep_capabilities(false).map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::{Call, FakeSyscall};

    #[test]
    fn groups_before_ids_with_capabilities_kept() {
        let user: User = serde_json::from_str(r#"{"uid":1000,"gid":100,"additionalGids":[10,20]}"#).unwrap();
        let fake = FakeSyscall::new();
        switch_user(&user, true, &fake).unwrap();
        assert_eq!(
            fake.calls(),
            vec![
                Call::Setgroups(vec![10, 20]),
                Call::SetKeepCapabilities(true),
                Call::SetIds { uid: 1000, gid: 100 },
                Call::SetKeepCapabilities(false),
            ]
        );
    }
}
