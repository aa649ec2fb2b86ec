"""placeholder"""
from flask import Blueprint
monitor_bp = Blueprint("monitor", __name__)
