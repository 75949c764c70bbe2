//! Who acts, and with which powers. Powers are values: a use case that needs the operator of a
//! space takes an [`OperatorOf`], which exists only after the role check passed, so a check
//! cannot be forgotten without the call failing to compile. They are obtained once, from the
//! signed-in [`Identity`], by the adapter that serves the request.
//!
//! - [`Identity`]: a signed-in account acting for itself (a maker books, cancels their own).
//! - [`OperatorOf`]: runs one space (resources, approvals, kiosks, its bookings); an admin
//!   holds it for every space.
//! - [`SpaceReader`]: may read a space's bookings and metered sessions: its operators and the
//!   district's reviewers.
//! - [`Reviewer`]: the district office, reading every space; changes nothing.
//! - [`Admin`]: runs labinn itself (accounts and roles).
//! - [`AnyOperator`]: runs at least one space (trainings, verifying makers).

use super::{ServiceError, ServiceResult, Services};
use crate::domain::identity::Role;
use crate::domain::ids::{AccountId, SpaceId};
use crate::store::accounts::{AccountRow, RoleGrantRow};
use crate::store::catalog::SpaceRow;

/// A signed-in account: the account, its role grants, and the catalog's version stamp that
/// was read with its login (the catalog cache's entries are checked against it).
#[derive(Debug, Clone)]
pub struct Identity {
    pub account: AccountRow,
    pub roles: Vec<RoleGrantRow>,
    pub catalog_version: i64,
}

/// Runs labinn itself.
#[derive(Debug, Clone)]
pub struct Admin {
    account_id: AccountId,
}

/// The district office: reads every space's bookings, sessions and evidence.
#[derive(Debug, Clone)]
pub struct Reviewer {
    account_id: AccountId,
}

/// Runs one space (or is an admin, who runs every space).
#[derive(Debug, Clone)]
pub struct OperatorOf {
    space: SpaceRow,
    account_id: AccountId,
}

/// A row that belongs to a space (a resource, a unit, a kiosk), together with the power over
/// that space. Made only by the look-ups that checked the row's space against the identity
/// (`catalog::operator_of_resource`, `operator_of_unit`, `checkin::operated_kiosk`), so a use
/// case that takes one cannot be handed a row of a space its caller does not run.
#[derive(Debug, Clone)]
pub struct Operated<T> {
    op: OperatorOf,
    row: T,
}

/// Runs at least one space (or is an admin).
#[derive(Debug, Clone)]
pub struct AnyOperator {
    account_id: AccountId,
    admin: bool,
}

/// May read one space's bookings and metered sessions: an operator of it, or a reviewer.
#[derive(Debug, Clone)]
pub struct SpaceReader {
    space: SpaceRow,
    /// Reads as an operator of the space (or an admin), not as a reviewer alone.
    operates: bool,
}

impl Identity {
    pub fn id(&self) -> &AccountId {
        &self.account.id
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|g| g.role == role)
    }

    pub fn admin(&self) -> Option<Admin> {
        self.has_role(Role::Admin).then(|| Admin { account_id: self.account.id.clone() })
    }

    pub fn reviewer(&self) -> Option<Reviewer> {
        self.has_role(Role::Reviewer).then(|| Reviewer { account_id: self.account.id.clone() })
    }

    /// The spaces this account operates (by grant; an admin's are all, see [`Identity::operates`]).
    pub fn operated_spaces(&self) -> impl Iterator<Item = &SpaceId> {
        self.roles.iter().filter(|g| g.role == Role::Operator).filter_map(|g| g.space_id.as_ref())
    }

    /// Whether this account runs the space with this id.
    pub fn operates(&self, space_id: &SpaceId) -> bool {
        self.has_role(Role::Admin) || self.operated_spaces().any(|s| s == space_id)
    }

    /// The operator of `space`, if this account is one.
    pub fn operator_of(&self, space: SpaceRow) -> Option<OperatorOf> {
        self.operates(&space.id).then(|| OperatorOf { space, account_id: self.account.id.clone() })
    }

    /// An operator of some space (or an admin).
    pub fn any_operator(&self) -> Option<AnyOperator> {
        let admin = self.has_role(Role::Admin);
        (admin || self.has_role(Role::Operator)).then(|| AnyOperator { account_id: self.account.id.clone(), admin })
    }

    /// A reader of `space`: its operator or a reviewer.
    pub fn reader_of(&self, space: SpaceRow) -> Option<SpaceReader> {
        let operates = self.operates(&space.id);
        (operates || self.has_role(Role::Reviewer)).then_some(SpaceReader { space, operates })
    }

    /// The operator of `space`, or [`super::Code::Forbidden`] with `why`.
    ///
    /// # Errors
    /// [`super::Code::Forbidden`].
    pub fn require_operator_of(&self, space: SpaceRow, why: impl Into<String>) -> ServiceResult<OperatorOf> {
        self.operator_of(space).ok_or_else(|| ServiceError::forbidden(why))
    }

    /// The refusal of an operator's change to booking `b` for one who is not its operator:
    /// `forbidden` for whoever may see the booking (its maker, a reviewer), `not_found` for
    /// everyone else, so that a booking's existence never leaks through the answer.
    pub fn not_operator_of_booking(&self, maker: &AccountId, message: &str) -> ServiceError {
        if maker == self.id() || self.has_role(Role::Reviewer) || self.admin().is_some() {
            return ServiceError::forbidden(message.to_owned());
        }
        ServiceError::not_found("booking")
    }

    /// The refusal of a change to another maker's booking by someone who does not operate
    /// its space: a reviewer, who may read every booking, is told why; anyone else is not
    /// told that it exists.
    pub fn not_theirs(&self, doing: &str) -> ServiceError {
        if self.has_role(Role::Reviewer) {
            return ServiceError::forbidden(format!(
                "{doing} another maker's booking needs the operator role for the space"
            ));
        }
        ServiceError::not_found("booking")
    }
}

impl Admin {
    pub fn id(&self) -> &AccountId {
        &self.account_id
    }
}

impl Reviewer {
    pub fn id(&self) -> &AccountId {
        &self.account_id
    }
}

impl OperatorOf {
    pub fn space(&self) -> &SpaceRow {
        &self.space
    }

    /// The operator's account.
    pub fn id(&self) -> &AccountId {
        &self.account_id
    }
}

impl<T> Operated<T> {
    /// `row` of `op`'s space: the caller has checked that it belongs there.
    pub(super) fn new(op: OperatorOf, row: T) -> Self {
        Operated { op, row }
    }

    pub fn op(&self) -> &OperatorOf {
        &self.op
    }

    pub fn row(&self) -> &T {
        &self.row
    }
}

impl AnyOperator {
    pub fn id(&self) -> &AccountId {
        &self.account_id
    }

    pub fn is_admin(&self) -> bool {
        self.admin
    }
}

impl SpaceReader {
    /// A reader for `labinn verify-pack` and the other one-off commands: whoever holds the
    /// database's address may read it whole.
    pub(crate) fn for_verification(space: SpaceRow) -> Self {
        SpaceReader { space, operates: true }
    }

    pub fn space(&self) -> &SpaceRow {
        &self.space
    }

    /// Whether this reader operates the space (an operator or an admin), rather than
    /// reviewing it.
    pub fn operates(&self) -> bool {
        self.operates
    }
}

/// The operator of the space `slug` (an id works too).
///
/// # Errors
/// [`super::Code::NotFound`] for an unknown space, [`super::Code::Forbidden`] with `why`.
pub async fn operator_of(svc: &Services, who: &Identity, slug: &str, why: &str) -> ServiceResult<OperatorOf> {
    let space = super::catalog::find_space(svc, slug).await?;
    who.require_operator_of(space, why)
}

/// A reader of the space `slug`: its operator or a reviewer.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`].
pub async fn reader_of(svc: &Services, who: &Identity, slug: &str) -> ServiceResult<SpaceReader> {
    let space = super::catalog::find_space(svc, slug).await?;
    who.reader_of(space)
        .ok_or_else(|| ServiceError::forbidden("this needs the operator role for the space, or reviewer"))
}
