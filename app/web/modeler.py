"""placeholder"""
from flask import Blueprint
modeler_bp = Blueprint("modeler", __name__)
