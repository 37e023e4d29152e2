# Makefile of the springvm pager plugin "skeleton" (made by springvm new-pager).
# Needs only pkg-config and an installed springvm:
#   make            builds skeleton.so
#   make test       runs springvm test-pager on it
#   make run        runs the stack of skeleton.json (springvm run)
#   make install    copies it into springvm's plugin directory
PKG_CONFIG ?= pkg-config
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),all)),)
ifneq ($(shell $(PKG_CONFIG) --exists springvm && echo yes),yes)
$(error pkg-config finds no springvm: install springvm, or set PKG_CONFIG_PATH to the directory of its springvm.pc)
endif
endif
SPRINGVM ?= $(shell $(PKG_CONFIG) --variable=bindir springvm)/springvm
PLUGINDIR ?= $(shell $(PKG_CONFIG) --variable=plugindir springvm)
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -Wall -Wextra -fPIC -fvisibility=hidden $(shell $(PKG_CONFIG) --cflags springvm) $(CFLAGS)
LIBS = $(shell $(PKG_CONFIG) --libs springvm)

all: skeleton.so

skeleton.so: skeleton.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -shared -o $@ skeleton.c $(LDFLAGS) $(LIBS)

test: skeleton.so
	$(SPRINGVM) test-pager ./skeleton.so

run: skeleton.so
	$(SPRINGVM) run skeleton.json

install: skeleton.so
	install -d $(DESTDIR)$(PLUGINDIR)
	install -m 644 skeleton.so $(DESTDIR)$(PLUGINDIR)/skeleton.so

clean:
	rm -f skeleton.so skeleton.data

.PHONY: all test run install clean
