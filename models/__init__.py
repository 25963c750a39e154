"""SQLAlchemy 2.0 models of gridflow and the session factory. No Flask, no SpiffWorkflow."""
from models.base import (Base, UTCDateTime, make_engine, make_session_factory, open_database, create_schema,
                         drop_schema)
from models.org import CityStamp, OrgUnit, Department, Category, User, Membership, ApiToken, SavedFilter, UserSession, ORG_LEVELS, ROLES
from models.process import CaseMigration, ProcessDraft, ProcessVersion, SimulationCase, SimulationRun
from models.case import Case, Task, CaseEvent, CaseCodeCounter, Notification, WebhookDelivery, Attachment, Comment, IntakeKey
from models.admin import AdminChange, PasswordLink
from models.public import TrackingLink, Rating, Open311Client, Open311Request, RateLimitWindow
from models.assessment import AssessmentFact, AssessmentTally
from models.audit import AuditVerification
from models.twoway import UnitRating, RatingRound, RoundScore

__all__ = [
    "Base", "UTCDateTime", "make_engine", "make_session_factory", "open_database", "create_schema", "drop_schema",
    "CityStamp", "OrgUnit", "Department", "Category", "User", "Membership", "ApiToken", "SavedFilter", "UserSession", "ORG_LEVELS", "ROLES",
    "ProcessVersion", "ProcessDraft", "CaseMigration", "SimulationRun", "SimulationCase", "Case", "Task", "CaseEvent", "CaseCodeCounter", "Notification", "WebhookDelivery",
    "IntakeKey",
    "Attachment", "Comment", "AdminChange", "PasswordLink", "TrackingLink", "Rating", "Open311Client", "Open311Request", "RateLimitWindow",
    "AssessmentFact", "AssessmentTally",
    "AuditVerification", "UnitRating", "RatingRound", "RoundScore",
]
