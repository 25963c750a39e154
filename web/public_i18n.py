"""Language for the public pages (Chinese by default, English on request) and a `_()` for
their templates until Flask-Babel arrives: messages are English msgids, and this small
catalogue gives their Chinese. With Flask-Babel installed, its gettext is used instead."""
from __future__ import annotations

from flask import Flask, g, request

LANGS = ("zh", "en")

ZH = {
    "Case tracking": "案件查询",
    "Case": "案件",
    "Category": "类别",
    "Location": "位置",
    "Status": "状态",
    "Responsible unit": "责任单位",
    "Reported": "上报时间",
    "Expected completion": "预计办结",
    "Closed": "办结时间",
    "Progress": "办理进程",
    "Reported by the resident": "市民上报",
    "Entered stage": "进入环节",
    "Information added": "已补充信息",
    "Rated": "已评价",
    "Case closed": "案件办结",
    "Case reopened for handling": "案件重新办理",
    "Your report": "您反映的内容",
    "The centre asks you to add": "受理员请您补充",
    "Add information": "补充信息",
    "Send": "提交",
    "How satisfied are you with the result?": "您对办理结果是否满意？",
    "Satisfied": "满意",
    "Basically satisfied": "基本满意",
    "Dissatisfied": "不满意",
    "Comment (optional)": "意见（选填）",
    "Rate": "提交评价",
    "Your rating": "您的评价",
    "Keep this page's address private: it lets you add information and rate the result.":
        "请妥善保存本页地址：凭此地址可补充信息、评价办理结果。",
    "Thank you. Your information was added.": "谢谢，补充信息已提交。",
    "Thank you for your rating.": "感谢您的评价。",
    "Not found": "未找到",
    "No case has this code.": "没有这个编号的案件。",
    "Too many requests": "请求过于频繁",
    "Please wait %(seconds)s seconds and try again.": "请等待 %(seconds)s 秒后再试。",
    "Could not send": "未能提交",
    "中文": "中文",
    "English": "English",
}
SATISFACTION_LABELS = {"satisfied": "Satisfied", "basically": "Basically satisfied", "dissatisfied": "Dissatisfied"}


def current_lang() -> str:
    """?lang= wins, then the browser's preference between Chinese and English; Chinese by default."""
    if "public_lang" not in g:
        asked = request.args.get("lang")
        if asked in LANGS:
            g.public_lang = asked
        else:
            best = request.accept_languages.best_match(["zh", "en"], default="zh")
            g.public_lang = best if best in LANGS else "zh"
    return g.public_lang


def gettext(message: str, **params) -> str:
    text = message if current_lang() == "en" else ZH.get(message, message)
    return text % params if params else text


def init_app(app: Flask) -> None:
    """Give templates `_` and `lang` unless Flask-Babel (or another layer) already provides `_`."""
    app.jinja_env.globals.setdefault("_", gettext)
    app.jinja_env.globals.setdefault("public_lang", current_lang)
