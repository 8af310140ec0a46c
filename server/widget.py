"""(being written)"""
from flask import Blueprint

widget = Blueprint("widget", __name__)
