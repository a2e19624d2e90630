"""Generate ``sample_room.jsonl``: a recorded 20-minute comment stream of one live room.

Deterministic (``random.Random(42)``), standard library only.  Run::

    python tools/make_sample_room.py     # writes data/replay/sample_room.jsonl

Every line is one JSON object ``{id, room, user, nickname, text, ts}`` (ts in epoch
milliseconds, strictly increasing, starting 2025-11-25T20:00:00+08:00).  The file carries no
labels: it is what a platform would hand the live-room bot.  The generator keeps a rough
category per comment only to print a summary.

How the show runs (offsets from 20:00:00):

* 0:00-2:30  people arrive, greetings surge
* 3:00       product goes on the cart (3号链接) -> ask_link / ask_price burst
* 6:00       host announces a coupon -> ask_coupon burst; 7:00 first colour sells out
* 9:00       福袋 announced (扣口令), 10:10 福袋 opens -> ask_lottery
* 13:00-15:00 shipping-complaint spike (发货慢 / 还没发货 / 骗子), a few abusive comments
* scattered: quiet stretches, short bursts, users flooding the same text, ad accounts
  evading filters, and the bot's own account (``bot-self``) answering three times.

All comment texts below are hand-written; the script only adds light variation
(repeated last letter, an appended emoji / ??? / 啊, an @主播 prefix).
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path

ROOM = "demo-room"
START_MS = 1764075600000  # 2025-11-25T20:00:00+08:00
SHOW_S = 20 * 60
N_MAIN = 2935  # ordinary comments; floods and bot messages come on top (~3,000 in all)
OUT = Path(__file__).resolve().parents[1] / "data" / "replay" / "sample_room.jsonl"

# --------------------------------------------------------------------------------------
# Hand-written comments, by rough category.  The sub-pools ``complaint_ship`` and
# ``lottery_result`` are reported as ``complaint`` and ``ask_lottery``.
# --------------------------------------------------------------------------------------

POOLS: dict[str, list[str]] = {
    "greeting": [
        "来了来了", "主播晚上好", "打卡", "打卡✅", "来啦", "晚上好呀家人们", "主播好",
        "第一次来直播间", "新粉报道", "从推荐刷进来的", "又来啦", "每天准时来", "老粉来了",
        "蹲到了蹲到了", "终于开播了", "等好久了", "刚下班就来了", "宝宝们好", "大家晚上好",
        "主播晚上好呀😊", "来捧场了", "签到", "打卡第三天", "来了来了 不迟吧", "hi主播",
        "hello", "哈喽哈喽", "我来晚了吗", "才下班 来了", "主播好久不见", "点了关注了",
        "关注了关注了", "已关注", "粉丝灯牌点亮了", "主播记得我吗", "广东的来报道",
        "河南老乡来了", "晚上好 吃饭了吗主播", "上班摸鱼来看", "带娃间隙来打卡",
        "刚进来 在讲什么", "主播今天好早", "准时准点", "冲冲冲 来了", "宝宝们晚上好",
        "姐妹们我来了", "第一次看 主播好亲切", "来了来了来了", "晚上hao", "主播晚上好好",
        "四川的姐妹来了", "下班路上看", "今天来的人好多啊", "蹲了一下午了",
    ],
    "ask_link": [
        "上链接", "上链接上链接", "链接呢", "几号链接", "小黄车第几个", "几号", "这个几号链接",
        "链接在哪", "怎么买", "在哪买", "没看到链接", "链接没有啊", "3号是这个吗", "是3号链接吗",
        "小黄车里没有啊", "快上链接", "主播上车啊", "求链接", "链接链接", "刚才那个几号",
        "黑色那个是几号", "主播手上这个几号", "找不到", "点哪里买", "怎么下单", "购物车里哪个",
        "上架了吗", "还没上吗", "快点上架", "几号几号", "哪个链接", "是1号还是3号", "黄车第一个吗",
        "链接挂一下", "主播 链接没刷出来", "刷新了也没有", "上连接", "链接在哪里呀", "几号链接啊主播",
        "小黄车没看到", "车上第几个", "主播弹一下链接",
    ],
    "ask_price": [
        "多少钱", "多少钱啊", "价格", "到手价多少", "什么价", "到手多少", "这个多少米", "多钱",
        "价格多少", "比昨天贵了?", "怎么比上次贵", "今天什么价", "直播间价格多少", "原价多少",
        "几折", "有没有便宜点", "买两件多少钱", "两件什么价", "是到手价吗", "和旗舰店一样价吗",
        "官方价多少", "多少钱一盒", "一套多少", "价格能再低点吗", "能不能便宜", "这个价贵了",
        "主播多少钱", "到手价到底多少", "贵不贵", "价格打出来", "打个价格", "多少钱?没听清",
        "刚进来 多少钱", "黑色和白色一个价吗", "大码贵吗", "199还是169", "多少钱一件",
        "价钱", "jg多少", "到手几块", "今天有活动价吗", "比双11便宜吗",
    ],
    "ask_coupon": [
        "券在哪领", "优惠券怎么用", "满减吗", "有券吗", "怎么领券", "券呢", "领不到券",
        "券领了用不了", "优惠券在哪", "有没有优惠", "满减怎么算", "满300减多少", "新人券有吗",
        "粉丝券怎么领", "券已经领完了？", "没抢到券", "券怎么没了", "能叠加吗",
        "两张券能一起用吗", "领券入口在哪", "点哪里领券", "券显示已抢光", "还有券吗",
        "再发一波券", "主播再放点券", "券是无门槛的吗", "满多少能用", "红包怎么用",
        "领了券价格没变啊", "拍下没减", "下单没有优惠", "券过期了怎么办", "福利券在哪",
        "关注有券吗", "加粉丝团有券吗", "券只能今天用吗", "卷在哪里领", "优惠卷没了",
        "20的券在哪", "券怎么用不了", "领完券多少钱",
    ],
    "ask_lottery": [
        "什么时候抽奖", "福袋几点开", "福袋呢", "福袋什么时候开", "还有福袋吗", "抽奖抽奖",
        "怎么参与抽奖", "福袋里面是什么", "福袋开了吗", "几分钟开", "福袋倒计时多久", "怎么抽的",
        "要发什么口令", "口令是什么", "福袋要加粉丝团吗", "抽几个人", "奖品是什么", "一等奖是啥",
        "什么时候再发福袋", "再来个福袋", "主播发福袋", "求中", "求中奖🙏", "福袋福袋福袋",
        "抽我抽我", "今天有福袋吗", "福袋要等多久", "口令打什么", "超级福袋什么时候",
        "要关注才能抽吗",
    ],
    "lottery_result": [
        "中奖怎么领", "中奖了怎么联系", "我中了！怎么领", "从来没中过", "又没中", "黑幕吧 每次都不中",
        "中奖名单呢", "中奖的怎么领啊", "奖品发货吗", "中了中了", "没中 下次吧", "又是谢谢参与",
        "中了个优惠券 哈哈", "中奖了填地址在哪", "谁中了", "我从来没中过一次", "陪跑",
        "陪跑第10次", "中奖了是真的吗", "还会再抽吗",
    ],
    "ask_size": [
        "160 100斤穿什么码", "165 120斤 选多大", "158/95 s还是m", "身高170体重130穿什么码",
        "155 90斤", "162 110斤m可以吗", "168 125穿l还是xl", "偏大吗", "偏小吗", "码数准吗",
        "有加大码吗", "150 85斤有小码吗", "胖子能穿吗 160 140斤", "腰围2尺2穿什么",
        "175 150斤 男生能穿吗", "163 105 平时穿s", "肩宽的穿什么码", "胸大选什么码",
        "160 115 选m还是l", "有xxl吗", "正常码吗", "尺码表在哪", "170 140斤", "孕妇能穿吗",
        "157 98斤", "166 118斤", "172 135", "平时穿m这个选多大", "36码脚选多少", "鞋子偏大还是偏小",
        "宽脚能穿吗", "160 100斤能穿吗😭", "我152 88斤有我能穿的吗", "165/130 宽松吗",
        "主播多高多重", "主播穿的什么码", "模特多高", "衣长多少", "裤长多少", "腿粗能穿吗",
        "小个子能穿吗", "大码有吗 180斤", "M码多少斤穿", "L码多少斤穿", "159 105 梨形身材",
        "161 112斤 胯宽", "1米6 100斤", "一米七 一百二", "168cm 55kg", "我体重130 穿什么码",
        "155 120斤 微胖", "164 102斤选s吗", "167 128斤 肚子有点肉", "153 92斤 能穿吗",
    ],
    "ask_shipping": [
        "什么时候发货", "包邮吗", "发什么快递", "几天发货", "今天拍明天发吗", "发顺丰吗",
        "能发顺丰吗", "新疆包邮吗", "西藏发吗", "偏远地区包邮吗", "从哪里发货", "发货地在哪",
        "几天能到", "广州几天到", "48小时发吗", "预售吗", "现货吗", "预售多久发", "可以指定快递吗",
        "中通还是圆通", "到北京要几天", "运费多少", "有没有运费险", "海外能寄吗", "香港能发吗",
        "周末发货吗", "物流能查吗", "什么时候能收到", "今天能发吗", "急用 能加急吗", "发货快吗",
        "是现货还是预售", "包邮不", "江浙沪包邮吗", "内蒙古发吗",
    ],
    "ask_stock": [
        "还有货吗", "什么时候补货", "没抢到", "没了？", "秒没了", "又没抢到", "补货吗",
        "还有库存吗", "黑色还有吗", "m码没了", "L码还有吗", "怎么显示无货", "拍不了了",
        "显示已售罄", "再上点库存", "主播加库存", "还能加吗", "手慢了", "刚点进去就没了",
        "库存多少", "今天有多少件", "明天还有吗", "下次什么时候上", "白色什么时候补",
        "能不能再上一点", "卡了没拍到", "一直转圈圈 没拍上", "付款的时候没了", "还有几单",
        "抢不到啊啊啊", "求补货🙏", "加库存加库存", "断码了吗", "还有大码吗", "杏色没了吗",
    ],
    "ask_product": [
        "什么材质", "敏感肌能用吗", "是正品吗", "试一下色", "什么面料", "纯棉吗", "起球吗",
        "掉色吗", "透不透", "会缩水吗", "能机洗吗", "孕妇能用吗", "保质期多久", "生产日期是什么时候",
        "有没有香味", "油皮能用吗", "干皮用着干吗", "黄黑皮适合哪个色", "上嘴试一下", "近一点看看",
        "看看细节", "看看背面", "领口看一下", "主播转一圈", "有几个颜色", "有什么颜色",
        "灰色好看还是黑色好看", "和上次那款有什么区别", "是旗舰店吗", "有防伪吗", "哪里产的",
        "一盒几片", "容量多大", "能用多久", "冬天穿冷吗", "加绒吗", "厚不厚", "防水吗",
        "有异味吗", "含酒精吗", "成分是什么", "老人能穿吗", "过敏能用吗", "学生党适合吗",
        "实物和图片一样吗", "有没有色差", "开个箱看看", "里面什么样的", "羊毛含量多少",
        "是不是羊绒的", "扎不扎", "今天卖什么", "今天有什么好东西", "主播讲一下3号",
    ],
    "after_sales": [
        "怎么退货", "退款还没到", "收到有破损", "退货地址在哪", "退款多久到账", "七天无理由吗",
        "不合适能退吗", "能换码吗", "怎么换货", "收到少了一件", "收到的颜色不对", "发错货了",
        "客服不回复", "客服一直不理人", "退货运费谁出", "申请退款了没人处理", "退款被拒了",
        "东西漏了", "瓶子碎了", "包装破了", "少发了赠品", "赠品没收到", "说好的赠品呢",
        "怎么联系客服", "售后找谁", "质量问题能退吗", "用了过敏怎么办", "穿了一次开线了",
        "退款显示已拒绝", "我的单号查不到", "物流一直不动", "快递显示签收了但我没收到",
        "能补发吗", "价保吗 买贵了", "昨天买的今天便宜了能退差价吗", "我订单号283746 帮看下",
        "我电话13812345678 客服打给我", "地址写错了能改吗",
    ],
    "complaint_ship": [
        "发货太慢了", "还没发货", "发货慢", "一个星期了还没发货", "拍了5天了还没发",
        "说好48小时发货呢", "什么时候发货啊 等到花都谢了", "都十天了还没收到", "到现在物流都没有",
        "还没发货 主播解释一下", "不发货还卖", "发货慢还不让说？", "为什么不回答发货的问题",
        "别装看不见", "主播别光卖货 回答一下发货", "骗子 钱收了不发货", "双11的单到现在没发",
        "我的也没发", "+1 我的也没发货", "我上周五拍的到现在没动静", "物流信息一直不更新",
        "只揽收不发走", "说现货 结果等一周", "催了三次了", "不发货就退钱", "骗子",
        "发货太慢了 不会再买了",
    ],
    "complaint": [
        "质量太差", "假货", "骗人的", "虚假宣传", "和直播间不一样", "买家秀和卖家秀", "质量好差",
        "一洗就掉色", "穿一次就起球", "味道很大", "难用", "踩雷了", "再也不买了", "退款退了半个月",
        "客服态度太差", "价格比别家贵多了", "别人家才59", "上次买的便宜了30", "坑人", "割韭菜",
        "别买 真的别买", "大家别上当", "我买的就是假的", "假一赔十呢？", "去12315投诉你们",
        "给差评了", "线头一堆", "尺码完全不准", "比图片差远了", "发的是旧货", "删我评论干嘛",
        "骗钱的吧", "福袋都是内定的吧", "一秒就没了 根本没有库存吧", "说好的最低价呢",
    ],
    "praise": [
        "好看", "已经回购了", "主播讲得好", "太好看了", "好美", "主播好漂亮", "颜色绝了",
        "质量很好", "上次买的很好用", "回购第三次了", "真的好用", "性价比高", "便宜又好看",
        "爱了爱了", "绝绝子", "太值了", "姐妹们冲 真的好", "收到了 很喜欢", "老粉了 一直在这买",
        "主播好敬业", "主播声音好好听", "讲得很仔细", "主播好有耐心", "衣服很显瘦", "上身效果好好",
        "好显白", "好温柔的颜色", "做工很好", "包装很精致", "发货很快 点赞", "物流超快",
        "昨天拍今天就到了", "支持主播", "主播辛苦了", "一直支持", "喜欢喜欢", "种草了",
        "被种草了", "无限回购", "我妈说很好用", "老公说好看", "闺蜜推荐来的 果然好", "良心主播",
        "比专柜便宜多了", "主播最好看", "好好看啊啊啊", "这个颜色太美了", "穿上好有气质",
    ],
    "purchase": [
        "已拍", "拍了", "想要", "扣1", "111", "1111", "已拍3号", "拍了两件", "已下单", "已付款",
        "拍了拍了", "想要想要", "要了", "我要", "已拍 等发货", "拍了黑色", "拍了m码", "拍了一套",
        "给我妈也拍了一个", "已拍+1", "买了买了", "刚拍了", "已拍已拍", "冲了", "下单了",
        "拍了三单", "已拍 快发货", "扣1扣1", "1", "要要要", "我要两件", "给闺蜜也拍了",
        "囤了五盒", "拍了个白色", "已拍 主播记得备注", "已拍 要赠品", "已加购", "加入购物车了",
        "已经拍了 送什么", "拍了 什么时候发", "已拍 杏色l码", "11111",
    ],
    "spam_ad": [
        "加薇❤看更多款", "v信:lm8827 低价出", "加q 3287165 领福利", "兼职日结 在家可做", "私聊低价",
        "看主页 有惊喜", "同款更便宜 主页看", "加V看更多", "加vx 领红包", "嘉威 xyz889 出同款",
        "伽薇❤ 一手货源", "ｖｘ：ａｂ１２３６", "扣扣 2 8 7 6 5 4 3 1", "刷单返利 日入300",
        "宝妈兼职 手机就能做", "招代理 零门槛", "低价代购 私", "工厂直销 比直播间便宜一半 看简介",
        "免费领面膜 戳头像", "点我头像 送福利", "需要的私我", "有需要的私聊", "威信 a1b2c3d4",
        "薇信 hh_shop888", "V❤：lily5566", "加我🐧 327 888 916", "全网最低价 主页联系",
        "高仿一比一 私", "代开发票 私聊", "看直播领现金 加v", "网 址 www点xx99点com",
        "日赚500 不要押金", "同款厂家直发 vx yp669", "加微.信领优惠券", "微 信 搜 小 美 优 选",
        "加群领福袋 群号 73628190", "V x：mei_0927 ❤ 同款半价", "想要低价的宝子滴滴我",
    ],
    "abuse": [
        "垃圾主播", "傻X", "sb主播", "脑残", "滚出去", "丑八怪", "神经病", "有病吧",
        "垃圾直播间", "智障", "闭嘴吧你", "狗主播",
    ],
    "other": [
        "哈哈哈", "666", "六六六", "哈哈哈哈哈", "主播在吃什么", "背景音乐叫什么", "bgm好听",
        "主播是哪里人", "主播几岁", "主播有对象吗", "卡了", "好卡", "听不到声音", "画面卡住了",
        "主播喝口水", "主播嗓子哑了", "今天怎么没有小助理", "小助理好可爱", "我家猫也在看",
        "下雨了", "好冷啊今天", "明天还播吗", "明天几点播", "几点下播", "🤣🤣🤣", "👍👍👍",
        "🌹🌹", "[比心]", "[玫瑰]", "[鼓掌]", "？", "??", "。。。", "嗯嗯", "好的", "知道了",
        "懂了", "哦哦", "主播今天换发型了", "旁边那个是谁", "主播左边那个是什么", "在看呢",
        "挂着", "路过", "我也是", "+1", "同问", "一样", "哈哈哈笑死", "主播好搞笑", "原来如此",
        "学到了", "明天发工资再来", "没钱了 看看就好", "月底了 吃土", "钱包不允许",
        "老公不让买", "想要但是穷", "主播看看我", "@主播 回一下我呗", "主播口红什么色号",
        "主播耳环好看 哪买的", "孩子睡了 偷偷看", "弹幕好多", "刷屏的别刷了", "好热闹",
        "66666", "[捂脸]", "[赞]", "笑死我了", "主播加油💪", "挺住", "啊这",
    ],
}

REPORT_AS = {"complaint_ship": "complaint", "lottery_result": "ask_lottery"}
QUESTION_CATS = {
    "ask_link", "ask_price", "ask_coupon", "ask_lottery", "lottery_result", "ask_size",
    "ask_shipping", "ask_stock", "ask_product", "after_sales",
}

# Floods: (start second, user kind, text, repeats, min gap s, max gap s).  Texts are exact
# repeats, as real floods are.
FLOODS = [
    (184, "vip", "上链接上链接上链接", 6, 1, 3),
    (197, "active", "几号链接", 4, 1, 4),
    (300, "spam", "加薇❤看更多款 主页有", 5, 6, 15),
    (366, "active", "券在哪里领啊", 5, 1, 3),
    (546, "vip", "福袋福袋福袋", 7, 1, 3),
    (618, "active", "抽我抽我", 5, 1, 2),
    (700, "spam", "兼职日结 在家可做 v信:lm8827", 4, 8, 20),
    (790, "active", "还没发货！！！", 8, 1, 4),
    (833, "normal", "骗子 还没发货", 6, 2, 5),
    (851, "active", "退钱", 5, 1, 3),
    (1003, "vip", "主播看看我", 6, 2, 6),
]

# --------------------------------------------------------------------------------------
# Nicknames
# --------------------------------------------------------------------------------------

HAND_NICKS = [
    "小鱼儿", "快乐的猫", "Lily_88", "宝妈一枚", "甜甜圈🍩", "静待花开", "岁月静好", "平安是福",
    "知足常乐", "花开富贵", "心想事成", "阳光明媚", "木子李", "王大锤", "张姐", "李阿姨",
    "刘姐姐", "陈小胖", "胖虎", "大白兔", "小太阳☀️", "橙子🍊", "一颗柠檬🍋", "草莓味的小可爱",
    "奶茶续命", "今天也要加油鸭", "不吃香菜", "睡不醒的考拉", "爱吃鱼的猫", "会飞的鱼",
    "追光的人", "半糖少女", "芒果布丁", "西瓜太郎", "豆豆妈妈", "乐乐妈", "果果麻麻", "二宝妈",
    "小雨点", "晴天", "微风不燥", "山有木兮", "南风知我意", "星河滚烫", "人间值得", "向阳而生",
    "清风徐来", "浅笑安然", "一米阳光", "Amy", "Coco_酱", "Yuki", "Cindy0912", "Grace",
    "Kiki", "Momo", "Sunny", "Anna_wang", "丸子", "糖糖", "团子", "喵喵喵", "小熊软糖",
    "可乐加冰", "咸鱼翻身", "打工人小王", "社畜一枚", "干饭人", "吃土少女", "剁手党", "买买买",
    "穷鬼本鬼", "省钱小能手", "杭州小吴", "成都妹儿", "东北大妞", "广东靓女", "上海阿姨",
    "湖南辣妹子", "老王", "阿强", "阿杰", "阿花", "阿珍", "阿芳", "红姐", "梅子", "兰兰",
    "秀英", "桂芬", "美美哒", "开心就好", "随缘", "淡定", "路人甲", "吃瓜群众", "潜水员",
    "深夜不睡", "夜猫子🦉", "熬夜冠军", "早睡早起", "健身的胖子", "减肥中勿扰", "瘦到100斤",
    "梨形身材", "小个子穿搭", "微胖女孩", "150小个子", "黄黑皮", "敏感肌", "油皮星人",
    "护肤小白", "口红控💄", "衣柜缺衣服", "只看不买", "佛系购物", "囤货达人", "新手妈妈",
    "奶爸日记", "幸福一家人", "老李家的", "王小二", "赵家大姐", "周周", "吴妹妹", "猪八戒爱吃瓜",
    "叮当猫", "皮卡丘⚡", "蜡笔小新", "海绵宝宝", "派大星⭐", "迪士尼在逃公主", "仙女下凡",
    "人间小美好", "不二", "五月", "七七", "十一", "初一", "阿九", "雪碧", "芬达", "Vivian",
    "Jenny_1998", "Tina", "小米粥", "番茄炒蛋", "土豆丝", "糯米团子", "青柠", "荔枝", "杨梅",
    "蓝莓酱", "椰子🥥", "阿宝", "小鹿乱撞", "鹿鹿", "北方的狼", "江南烟雨", "大漠孤烟", "西西",
    "莎莎", "婷婷玉立", "芳芳", "丽丽", "娟子", "燕子", "霞姐", "琴琴", "红梅", "春花秋月",
    "老张", "刘大哥", "李师傅", "小李飞刀", "张小凡", "宝宝巴士", "大头儿子", "小头爸爸",
]
FOODS = ["鱼", "草莓", "火锅", "西瓜", "饺子", "芒果", "桃子", "蛋糕", "辣条", "汤圆", "烤肉", "奶茶"]
ANIMALS = ["猫", "兔子", "小熊", "考拉", "企鹅", "狐狸", "小狗", "仓鼠", "柯基", "熊猫", "喵", "鸭"]
ADJS = ["快乐的", "睡不醒的", "温柔的", "暴躁的", "努力的", "迷路的", "发呆的", "爱笑的", "不想上班的", "减肥的"]
KIDS = ["乐乐", "豆豆", "果果", "糖糖", "妞妞", "壮壮", "朵朵", "多多", "安安", "小宝", "甜甜", "轩轩", "一一"]
EN = ["Lily", "Amy", "Coco", "Luna", "Mia", "Emma", "Jessie", "Candy", "Apple", "Cherry", "Helen", "Kevin", "Jack", "Rose"]
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"]
PLACES = ["杭州", "成都", "重庆", "广州", "深圳", "武汉", "长沙", "西安", "郑州", "沈阳", "南京", "苏州", "青岛", "昆明"]
SPAM_NICKS = [
    "看主页有福利", "A批发-服装一手货源", "宝妈兼职💰", "V我领福利", "同款低价看主页",
    "刷单返利小助手", "工厂直销店", "美妆代购Lisa",
]
TROLL_NICKS = ["路过的大爷", "键盘侠本侠", "就爱说实话"]


def make_nick(rng: random.Random) -> str:
    """A plausible generated nickname (the hand-written list is used up first)."""
    r = rng.random()
    if r < 0.07:
        return "用户" + str(rng.randrange(10**9, 10**10))  # platform default name
    if r < 0.20:
        return f"爱吃{rng.choice(FOODS)}的{rng.choice(ANIMALS)}"
    if r < 0.32:
        return rng.choice(ADJS) + rng.choice(ANIMALS)
    if r < 0.45:
        return rng.choice(KIDS) + rng.choice(["妈妈", "妈", "麻麻", "爸爸", "奶奶"])
    if r < 0.58:
        sep = rng.choice(["_", "", ".", "-"])
        return rng.choice(EN) + sep + str(rng.choice([rng.randrange(10, 100), rng.randrange(1980, 2006)]))
    if r < 0.70:
        return rng.choice(SURNAMES) + rng.choice(["姐", "阿姨", "大姐", "小妹", "哥", "女士"])
    if r < 0.80:
        return rng.choice(PLACES) + rng.choice(["小", "阿"]) + rng.choice(SURNAMES)
    if r < 0.90:
        return rng.choice(HAND_NICKS) + rng.choice(["🌸", "✨", "~", "呀", "酱", "1", "66"])
    return "小" + rng.choice(SURNAMES) + rng.choice(["同学", "爱购物", "在路上", "不胖", "要加油"])


# --------------------------------------------------------------------------------------
# Show timeline
# --------------------------------------------------------------------------------------

# (start s, strength relative to the background mix, decay s, category mix)
TOPIC_EVENTS = [
    (0, 4.0, 100, {"greeting": 0.9, "other": 0.1}),
    (180, 4.0, 50, {"ask_link": 0.45, "ask_price": 0.35, "purchase": 0.12, "ask_size": 0.05, "ask_stock": 0.03}),
    (362, 4.0, 55, {"ask_coupon": 0.70, "ask_price": 0.12, "purchase": 0.18}),
    (425, 2.0, 25, {"ask_stock": 0.85, "complaint": 0.15}),
    (540, 3.5, 60, {"ask_lottery": 0.85, "purchase": 0.15}),
    (612, 3.5, 35, {"lottery_result": 0.8, "ask_lottery": 0.2}),
    (785, 3.5, 90, {"complaint_ship": 0.60, "ask_shipping": 0.20, "after_sales": 0.12, "complaint": 0.06, "abuse": 0.02}),
    (842, 2.5, 40, {"complaint_ship": 0.70, "ask_shipping": 0.15, "after_sales": 0.12, "abuse": 0.03}),
]
# (start s, extra comments per second at the peak, decay s)
RATE_EVENTS = [(0, 3.0, 90), (180, 9.0, 25), (362, 8.0, 25), (425, 3.0, 15),
               (540, 6.0, 30), (612, 7.0, 20), (785, 5.0, 60), (840, 4.0, 30)]

MIX_BEFORE_CART = {
    "greeting": 10, "other": 14, "praise": 5, "ask_product": 4, "ask_price": 3, "ask_link": 3,
    "ask_lottery": 3, "ask_shipping": 2, "after_sales": 2, "complaint": 1, "purchase": 1,
    "spam_ad": 2.5, "ask_coupon": 1.5, "ask_size": 1, "ask_stock": 0.5, "abuse": 0.1,
}
MIX_AFTER_CART = {
    "greeting": 3, "other": 12, "praise": 8, "ask_product": 9, "ask_price": 6, "ask_link": 5,
    "ask_size": 9, "purchase": 10, "ask_stock": 4, "ask_coupon": 3, "ask_lottery": 2.5,
    "ask_shipping": 5, "after_sales": 3, "complaint": 2, "complaint_ship": 1, "spam_ad": 2.5,
    "abuse": 0.1,
}


def category_mix(t: float) -> dict[str, float]:
    base = MIX_BEFORE_CART if t < 180 else MIX_AFTER_CART
    mix = dict(base)
    total = sum(base.values())
    for t0, strength, decay, cats in TOPIC_EVENTS:
        if t >= t0:
            k = strength * math.exp(-(t - t0) / decay) * total
            for cat, w in cats.items():
                mix[cat] = mix.get(cat, 0.0) + k * w
    return mix


def rate_profile(rng: random.Random) -> list[float]:
    phase = rng.uniform(0, 2 * math.pi)
    rate = []
    for s in range(SHOW_S):
        r = (1.3 + 0.4 * math.sin(2 * math.pi * s / 170 + phase)) * (1 - 0.35 * s / SHOW_S)
        for t0, amp, decay in RATE_EVENTS:
            if s >= t0:
                r += amp * math.exp(-(s - t0) / decay)
        rate.append(r)
    for minute in range(20):  # short random bursts (someone says something, people pile on)
        for _ in range(rng.randint(1, 3)):
            start = minute * 60 + rng.randrange(60)
            amp = rng.uniform(2.5, 8.0)
            for s in range(start, min(SHOW_S, start + rng.randint(2, 6))):
                rate[s] += amp
    # quiet stretches: the host talks / tries things on and almost nobody types
    for lo, hi in [(250, 330), (455, 530), (680, 770), (930, 1000), (1050, 1190), (1100, 1190)]:
        start = rng.randrange(lo, hi - 10)
        for s in range(start, min(hi, start + rng.randint(10, 28))):
            rate[s] *= 0.04
    return rate


# --------------------------------------------------------------------------------------
# Viewers
# --------------------------------------------------------------------------------------

def make_users(rng: random.Random) -> list[dict]:
    kinds = ["vip"] * 6 + ["active"] * 40 + ["normal"] * 200 + ["casual"] * 375 + ["spam"] * 8 + ["troll"] * 3
    weight = {"vip": 14.0, "active": 6.0, "normal": 2.0, "casual": 1.0, "spam": 1.0, "troll": 1.0}
    numbers = rng.sample(range(1000, 10000), len(kinds))
    hand = HAND_NICKS[:]
    rng.shuffle(hand)
    spam_nicks, troll_nicks = SPAM_NICKS[:], TROLL_NICKS[:]
    taken: set[str] = set()
    users = []
    for kind, num in zip(kinds, numbers, strict=True):
        if kind == "spam":
            nick = spam_nicks.pop(0)
        elif kind == "troll":
            nick = troll_nicks.pop(0)
        elif hand:
            nick = hand.pop()
        else:
            nick = make_nick(rng)
            while nick in taken:
                nick = make_nick(rng)
        taken.add(nick)
        if kind == "vip":
            arrive, leave = 0.0, float(SHOW_S)
        else:
            r = rng.random()
            if r < 0.40:
                arrive = rng.uniform(0, 150)
            elif r < 0.50:
                arrive = rng.uniform(530, 620)  # the 福袋 pulls people in
            else:
                arrive = rng.uniform(150, SHOW_S - 60)
            stay = 60 + rng.expovariate(1 / (700 if kind in ("active", "spam") else 450))
            leave = min(float(SHOW_S), arrive + stay)
        users.append({"id": f"u{num}", "nick": nick, "kind": kind, "w": weight[kind],
                      "arrive": arrive, "leave": leave, "posts": 0, "greeted": False})
    return users


def pick_user(rng: random.Random, users: list[dict], cat: str, t: float) -> dict:
    present = [u for u in users if u["arrive"] <= t <= u["leave"]]
    if cat == "spam_ad":
        cands = [u for u in present if u["kind"] == "spam"] or [u for u in users if u["kind"] == "spam"]
        return rng.choice(cands)
    if cat == "abuse" and rng.random() < 0.7:
        cands = [u for u in present if u["kind"] == "troll"] or [u for u in users if u["kind"] == "troll"]
        return rng.choice(cands)
    cands, weights = [], []
    for u in present:
        if u["kind"] == "spam":
            continue
        w = u["w"] * (0.3 if u["kind"] == "troll" else 1.0)
        if u["posts"] == 0:
            w *= 5.0
        if cat == "greeting":
            if u["greeted"]:
                w *= 0.1
            elif t - u["arrive"] < 90:
                w *= 8.0
        cands.append(u)
        weights.append(w)
    return rng.choices(cands, weights=weights)[0]


# --------------------------------------------------------------------------------------
# Light variation of a hand-written comment
# --------------------------------------------------------------------------------------

Q_TAILS = ["?", "？", "???", "？？", "呢", "啊", "呀", " 主播", "🙏"]
TAILS = ["😂", "😭", "👍", "❤️", "[比心]", "！", "！！", "～", "🌹", "[捂脸]", "😍"]
ANGRY_TAILS = ["！", "！！！", "😡", "😤", "😭", "???", "[发怒]", " 服了"]
NEGATIVE_CATS = {"complaint", "complaint_ship", "abuse"}


def vary(rng: random.Random, text: str, cat: str) -> str:
    r = rng.random()
    if r < 0.14:
        tails = Q_TAILS if cat in QUESTION_CATS else ANGRY_TAILS if cat in NEGATIVE_CATS else TAILS
        text += rng.choice(tails)
    elif r < 0.19 and text[-1].isalnum():
        text += text[-1] * rng.randint(1, 3)  # 哈哈哈哈 / 111111 / 吗吗
    elif r < 0.23 and cat in QUESTION_CATS:
        text = rng.choice(["@主播 ", "主播 ", "主播", "家人们 "]) + text
    elif r < 0.25 and len(text) <= 4:
        text = text + " " + text  # typed twice in one message
    return text


# --------------------------------------------------------------------------------------

def main() -> None:
    rng = random.Random(42)
    distinct = {t for pool in POOLS.values() for t in pool}
    assert len(distinct) >= 400, len(distinct)

    users = make_users(rng)
    rate = rate_profile(rng)
    seconds = rng.choices(range(SHOW_S), weights=rate, k=N_MAIN)
    times_ms = sorted(s * 1000 + rng.randrange(1000) for s in seconds)

    events = []  # (offset ms, user dict, text, category)
    for ms in times_ms:
        t = ms / 1000
        mix = category_mix(t)
        cat = rng.choices(list(mix), weights=list(mix.values()))[0]
        user = pick_user(rng, users, cat, t)
        if cat == "greeting":
            user["greeted"] = True
        user["posts"] += 1
        events.append((ms, user, vary(rng, rng.choice(POOLS[cat]), cat), cat))

    for start, kind, text, n, gap_lo, gap_hi in FLOODS:
        cands = [u for u in users if u["kind"] == kind and u["arrive"] <= start <= u["leave"] - 60]
        user = rng.choice(cands)
        ms = start * 1000 + rng.randrange(1000)
        for _ in range(n):
            events.append((ms, user, text, "flood"))
            user["posts"] += 1
            ms += rng.randint(gap_lo * 1000, gap_hi * 1000)

    # The bot's own account answers in the room (the bot must not answer itself).
    bot = {"id": "bot-self", "nick": "直播间小助手"}
    replies = [
        ("ask_link", 181, "@{nick} 宝宝3号链接已上车哦，点下方小黄车就能拍～"),
        ("ask_coupon", 363, "@{nick} 优惠券在小黄车上方领取，下单自动抵扣哦～"),
        ("complaint", 786, "@{nick} 宝宝抱歉久等了，订单会在48小时内陆续发出，物流问题可以私信客服查询哦🙏"),
    ]
    for cat, after_s, template in replies:
        asked = next(e for e in events if e[3] in (cat, cat + "_ship") and e[0] >= after_s * 1000)
        events.append((asked[0] + rng.randint(1500, 3500), bot, template.format(nick=asked[1]["nick"]), "bot"))

    events.sort(key=lambda e: e[0])
    lines, last_ts, cats = [], -1, Counter()
    for i, (ms, user, text, cat) in enumerate(events, start=1):
        ts = max(START_MS + ms, last_ts + 1)  # strictly increasing, as a platform stream is
        last_ts = ts
        cats[REPORT_AS.get(cat, cat)] += 1
        lines.append(json.dumps({"id": f"m{i:06d}", "room": ROOM, "user": user["id"],
                                 "nickname": user["nick"], "text": text, "ts": ts},
                                ensure_ascii=False))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")

    print(f"wrote {len(lines)} comments to {OUT}; {len(distinct)} hand-written base comments")
    print("by generator category:", ", ".join(f"{c} {n}" for c, n in cats.most_common()))


if __name__ == "__main__":
    main()
