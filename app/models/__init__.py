"""SQLAlchemy models, one module per aggregate."""
import app.models.document
import app.models.registry  # noqa: F401  (registers the registry tables)
from app.models.automation import Incident, Job, MessageSubscription, Notification, Timer
from app.models.counters import DailyInstanceCounter, InstanceCounter, QueueCounter, QueueDueCounter
from app.models.definition import Deployment, DeploymentFile, FormDefinition, ProcessDefinition
from app.models.instance import ElementCounter, InstanceEvent, InstanceVariable, ProcessInstance
from app.models.task import HumanTask
from app.models.user import ROLES, Queue, User, queue_members

__all__ = [
    "ROLES",
    "DailyInstanceCounter",
    "Deployment",
    "DeploymentFile",
    "ElementCounter",
    "FormDefinition",
    "HumanTask",
    "Incident",
    "InstanceCounter",
    "InstanceEvent",
    "InstanceVariable",
    "Job",
    "MessageSubscription",
    "Notification",
    "ProcessDefinition",
    "ProcessInstance",
    "Queue",
    "QueueCounter",
    "QueueDueCounter",
    "Timer",
    "User",
    "queue_members",
]
