"""(being written)"""
from flask import Blueprint

reference = Blueprint("reference", __name__)
