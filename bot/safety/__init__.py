"""Safety, checked before anything else: emergency red flags, personal-treatment questions, disclaimer."""
from bot.safety.messages import CRISIS_LINES, DISCLAIMER, EMERGENCY_NUMBERS, emergency_message
from bot.safety.personal import is_personal_treatment_question
from bot.safety.red_flags import RedFlag, find_red_flag

__all__ = ["CRISIS_LINES", "DISCLAIMER", "EMERGENCY_NUMBERS", "RedFlag", "emergency_message", "find_red_flag",
           "is_personal_treatment_question"]
