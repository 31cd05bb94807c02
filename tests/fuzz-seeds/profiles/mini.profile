profile p
detect a exists
table t
  1 x=[a b] y="c d"
end
copy a
when n == 5 or $a.b contains x
  args a.b c
  words a.b d
  lookup n t
else
  json j
  hashes h f
end
user u dom nm
time t @timestamp yyyy-MM-dd HH:mm:ss.SSS
append r $nm
replace a.b "\\" / q
head a.b " " h1
tail a.b " " t1
clean a ""
delete $c
