
BlogitsJ(H©`а≥┤Lаc▀а╜s5Af"гаNTfю─p═а▐Д-а/хаY`╪©