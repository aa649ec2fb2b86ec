"""SQLAlchemy models, one module per aggregate."""
from app.models.automation import Incident, Job, MessageSubscription, Notification, Timer
from app.models.definition import Deployment, DeploymentFile, FormDefinition, ProcessDefinition
from app.models.instance import ElementCounter, InstanceEvent, InstanceVariable, ProcessInstance
from app.models.task import HumanTask
from app.models.counters import DailyInstanceCounter, InstanceCounter, QueueCounter, QueueDueCounter
import app.models.registry  # noqa: F401,E402  (registers the registry tables)
import app.models.document  # noqa: F401,E402  (registers the document tables)
from app.models.user import ROLES, Queue, User, queue_members

__all__ = [
    "Deployment", "DeploymentFile", "DailyInstanceCounter", "InstanceCounter", "QueueCounter", "QueueDueCounter", "ElementCounter", "FormDefinition", "HumanTask", "Incident",
    "InstanceEvent", "InstanceVariable", "Job", "MessageSubscription", "Notification", "ProcessDefinition",
    "ProcessInstance", "Queue", "ROLES", "Timer", "User", "queue_members",
]
