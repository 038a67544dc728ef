"""流动党员: the branch's working record of members who moved away (流出) and of other
organisations' members who take part here (流入), the contact kept with them, and the search
for a member out of contact (失联) by 《中国共产党党员教育管理工作条例》第二十四条.

A working record and a to-do list: the 流动党员 register and 组织关系 stay in the 全国党员管理
信息系统.  Nothing here ranks anyone or sets a status by itself; every step is a person's.
"""
