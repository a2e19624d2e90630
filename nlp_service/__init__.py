"""The comment brain for live-stream e-commerce rooms.

Library entry points (no server needed)::

    from nlp_service import analyze, analyze_many
    analyze("主播晚上好 几号链接？").intent.label   # 'ask_link'
    moderate("加薇信领福利")["action"]               # 'block' (same as POST /v1/moderate)
"""

from nlp_service.analysis import Analysis, analyze, analyze_many
from nlp_service.moderation.library import moderate

__all__ = ["Analysis", "analyze", "analyze_many", "moderate"]
__version__ = "0.1.0"
